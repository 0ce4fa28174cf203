import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { collect, gatekit, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { freePort } from './helpers/daemon-harness.js';
import { deviceLoginCli } from './helpers/login.js';
import { workspace, type Workspace } from './helpers/workspace.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The repository's example gatekit.toml, moved to a temp dir on free ports: what a newcomer runs. */
async function exampleWorkspace(): Promise<Workspace> {
  const toml = readFileSync(`${REPO}gatekit.toml`, 'utf8')
    .replaceAll('"node_modules/', `"${REPO}node_modules/`)
    .replaceAll('"dist/fixtures/', `"${REPO}dist/fixtures/`)
    .replace('127.0.0.1:7400', `127.0.0.1:${await freePort()}`)
    .replace('127.0.0.1:7401', `127.0.0.1:${await freePort()}`);
  return workspace(toml);
}

describe('gatekit dev (the quickstart)', () => {
  const spaces: Workspace[] = [];
  after(() => {
    for (const ws of spaces) ws.remove();
  });

  it('dev --demo runs the whole loop unattended, prints an audit line naming the dev user, exits 0', async () => {
    const ws = await exampleWorkspace();
    spaces.push(ws);
    const r = await gatekit(['dev', '--demo'], { env: ws.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /DEVELOPMENT ONLY/);
    assert.match(r.stderr, /tools\/call through gatekit connect → echo: Echo: hello from the Gatekit demo/);
    const audit = JSON.parse(/audit line: (\{.*\})/.exec(r.stderr)![1]!);
    assert.equal(audit.user, 'alice@example.com');
    assert.equal(audit.outcome, 'ok');
  });

  it("dev serves the IdP and the daemon and says what to run next; the README's login and token commands work against it", async () => {
    const ws = await exampleWorkspace();
    spaces.push(ws);
    const dev = spawnGatekit(['dev'], { env: ws.env });
    const done = collect(dev, { timeoutMs: 60_000 });
    await waitForStderr(dev, /Ctrl-C stops it/, 30_000);
    const login = await deviceLoginCli(ws, 'alice@example.com', ['--resource', 'everything']);
    assert.equal(login.code, 0, login.stderr);
    const token = await gatekit(['broker', 'token', '--resource', 'everything', '--format', 'json'], { env: ws.env });
    const claims = JSON.parse(Buffer.from(JSON.parse(token.stdout).access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.aud, 'urn:gatekit:server:everything');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.scope, 'tools:echo tools:get-* tools:trigger-*');
    const doctor = await gatekit(['doctor'], { env: ws.env });
    assert.equal(doctor.code, 0, doctor.stdout);
    assert.doesNotMatch(doctor.stdout, /✘/);
    // The README's order: `npm run demo` while `npm start` runs uses the running one.
    const demo = await gatekit(['dev', '--demo'], { env: ws.env, timeoutMs: 60_000 });
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stderr, /^1\. using the running gatekit dev \(npm start\): its identity provider and daemon$/m);
    assert.match(demo.stderr, /tools\/call through gatekit connect → echo: Echo: hello from the Gatekit demo/);
    // The README's logout: revoked at the dev IdP, which says nothing about its own defaults.
    const logout = await gatekit(['broker', 'logout'], { env: ws.env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stderr, /logged out; the identity provider revoked the login/);
    dev.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 0);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /oidc-provider NOTICE/);
    assert.match(r.stderr, /DEVELOPMENT ONLY/);
    // The checkout's own CLI: the banner says what a person in the checkout types.
    assert.match(r.stderr, /\n {4}npx gatekit broker login --resource everything\n/);
    assert.doesNotMatch(r.stderr, /--no-install/);
  });
});
