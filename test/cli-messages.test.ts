import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { collect, gatekit, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

const VERSION = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')).version;
/** The tests run the checkout's own CLI: its hints say `npx gatekit`, as a person in the checkout types it. */
const USAGE_HINT = 'hint: run "npx gatekit --help" for the commands, or "npx gatekit COMMAND --help" for one';

describe('the CLI says what happened and what to do', () => {
  let idp: DevIdp;
  let ws: Workspace;
  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(basicConfig(idp.issuer));
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
  });
  after(async () => {
    await idp.close();
    ws.remove();
  });

  it('gatekit --version prints the package version', async () => {
    const r = await gatekit(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${VERSION}\n`);
  });

  it('an unknown command is named as unknown before the guess, with a hint', async () => {
    const near = await gatekit(['brokr', 'login']);
    assert.equal(near.code, 2);
    assert.equal(near.stderr, `gatekit: unknown command "brokr" (did you mean "broker"?)\n${USAGE_HINT}\n`);
    const sub = await gatekit(['broker', 'logn']);
    assert.equal(sub.stderr, `gatekit: unknown command "logn" (did you mean "login"?)\n${USAGE_HINT}\n`);
    const far = await gatekit(['xyzzy']);
    assert.equal(far.code, 2);
    assert.equal(far.stderr, `gatekit: unknown command "xyzzy"\n${USAGE_HINT}\n`);
    const flag = await gatekit(['broker', 'status', '--frob']);
    assert.equal(flag.stderr, `gatekit: unknown option --frob\n${USAGE_HINT}\n`);
  });

  it('token verify "" says the token is missing and how to pass one (no stdin read, exit 2)', async () => {
    const r = await gatekit(['token', 'verify', ''], { env: ws.env });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'gatekit: no token: the argument is empty\nhint: pass one, e.g. npx gatekit token verify "$(npx gatekit broker token --resource NAME)"; an empty one means the command inside $(…) printed nothing: run it alone to see why\n',
    );
    const stdin = await gatekit(['token', 'verify', '-'], { env: ws.env, input: '' });
    assert.equal(stdin.code, 2);
    assert.match(stdin.stderr, /^gatekit: no token on stdin\nhint: /);
  });

  it('a login hint keeps the --resource that was asked for', async () => {
    const r = await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /\nhint: run "npx gatekit broker login --resource notes"\n$/);
  });

  it('a policy denial at broker login names the rule and says what to do', async () => {
    const r = await deviceLoginCli(ws, 'carol@example.com', ['--resource', 'notes']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      /\ngatekit: denied by policy for server "notes": .*\nhint: ask an administrator to add you to the server's allow_users or allow_groups\n/,
    );
  });

  it('--no-browser never says it opens a browser, also with --flow pkce and a $BROWSER', async () => {
    for (const flow of [['--flow', 'pkce'], []]) {
      const child = spawnGatekit(['broker', 'login', '--no-browser', ...flow], {
        env: { ...ws.env, BROWSER: '/bin/true', DISPLAY: ':0' },
      });
      const done = collect(child, { timeoutMs: 30_000 });
      await waitForStderr(child, /Waiting for you to (finish signing in|approve the login)/);
      child.kill('SIGTERM');
      const r = await done;
      assert.doesNotMatch(r.stderr, /Opening your browser/);
      if (flow.length) assert.match(r.stderr, /To sign in, open this URL in a browser on this machine:\n {2}http:\/\//);
    }
  });

  it('broker status says when the IdP last confirmed the login; --check asks it, and says when it ended the login', async () => {
    const other = workspace(basicConfig(idp.issuer));
    after(() => other.remove());
    assert.equal((await gatekit(['init'], { env: other.env })).code, 0);
    assert.equal((await deviceLoginCli(other, 'bob@example.com')).code, 0);
    const cached = await gatekit(['broker', 'status'], { env: other.env });
    assert.equal(cached.code, 0, cached.stderr);
    assert.match(cached.stdout, /; last confirmed by the identity provider \d{4}-\d\d-\d\dT[\d:.]+Z\n/);
    assert.match(cached.stdout, /\n {2}\(the identity provider was not asked now; --check asks it\)\n/);
    const asked = await gatekit(['broker', 'status', '--check'], { env: other.env });
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, /\n {2}the identity provider confirmed the login just now \([\d\-T:.]+Z\)\n/);
    const json = JSON.parse((await gatekit(['broker', 'status', '--check', '--json'], { env: other.env })).stdout);
    assert.equal(json.check.asked, true);
    await idp.revokeUser('bob@example.com');
    // Without --check the cache still shows the login (and says it did not ask); with it, the truth.
    assert.match((await gatekit(['broker', 'status'], { env: other.env })).stdout, /^logged in as bob@example\.com/);
    const ended = await gatekit(['broker', 'status', '--check'], { env: other.env });
    assert.equal(ended.code, 3, ended.stderr);
    assert.match(ended.stderr, /^gatekit: the identity provider no longer honours this login: /);
    assert.match(ended.stderr, /\nhint: run "npx gatekit broker login"\n$/);
  });

  it('gatekit dev on a port in use says so and what to do', async () => {
    const port = new URL(idp.issuer).port;
    const dev = workspace(`[dev]\nidp = true\n${basicConfig(`http://127.0.0.1:${port}`)}`);
    after(() => dev.remove());
    const r = await gatekit(['dev'], { env: dev.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `gatekit: cannot serve the development identity provider on 127\\.0\\.0\\.1:${port}: the port is in use\\nhint: another "npx gatekit dev" \\(npm start\\) probably serves it: use that one, or stop it with Ctrl-C in its terminal; or give \\[idp\\] issuer another port\\n`,
      ),
    );
  });
});
