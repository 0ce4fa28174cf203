import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parse } from 'smol-toml';
import { daemonEndpoint, send } from '../lib/bridge/transport.js';
import { exchangeToken } from '../lib/broker/exchange.js';
import { checkConfig, loadConfig, type Config } from '../lib/config/index.js';
import { agentToken } from '../lib/exec/agent-client.js';
import { gatekit } from './helpers/cli.js';
import { reachableDir, skipUnlessOtherUser, startAsOtherUser, type OtherUser } from './helpers/other-user.js';

const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.alice-id-token-signature';

/** An HTTP server of uid nobody on a Unix socket that prints every request it receives, body included. */
async function squat(t: TestContext, user: OtherUser, path: string) {
  const squatter = startAsOtherUser(
    t,
    user,
    `import { createServer } from 'node:http';
     createServer((req, res) => {
       let body = '';
       req.on('data', (d) => (body += d)).on('end', () => {
         console.log('got ' + req.method + ' ' + req.url + ' ' + JSON.stringify(body));
         res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","expires_in":60,"scope":""}');
       });
     }).listen(process.argv[1], () => console.log('ready'));`,
    [path],
  );
  await squatter.waitFor(/^ready$/);
  return squatter;
}

function daemonModeToml(dir: string, daemonExtra = ''): string {
  return `[dev]

[idp]
issuer = "http://127.0.0.1:9"
client_id = "gatekit-cli"

[broker]
mode = "daemon"
issuer = "urn:gatekit:broker:shared-host"

[daemon]
token_listen = "unix:${join(dir, 'token.sock')}"
${daemonExtra}

[servers.notes]
command = ["node", "notes.js"]
listen = "unix:${join(dir, 'notes.sock')}"
allow_users = ["alice@example.com"]
`;
}

/** A config the trust check would refuse, for the client's own check: built without the file-trust pass. */
function unchecked(t: TestContext, toml: string): Config {
  const home = reachableDir(t);
  const file = join(home, 'gatekit.toml');
  writeFileSync(file, toml, { mode: 0o600 });
  return checkConfig(file, parse(toml) as Record<string, unknown>);
}

const exchange = (config: Config) =>
  exchangeToken(config, ID_TOKEN, 'urn:ietf:params:oauth:token-type:id_token', 'urn:gatekit:server:notes');

/** A directory only root can write to, but group nobody too (0775 root:nobody): not world-writable. */
function groupDir(t: TestContext, user: OtherUser): string {
  const dir = join(reachableDir(t), 'run');
  mkdirSync(dir);
  chownSync(dir, 0, user.gid);
  chmodSync(dir, 0o775);
  return dir;
}

describe('a credential is never sent to a socket another user (uid nobody) owns', () => {
  it('token_listen in a sticky world-writable directory: refused at config load, and the client sends nothing to the socket nobody bound there', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const shared = reachableDir(t, { shared: true });
    const squatter = await squat(t, user, join(shared, 'token.sock'));
    const ws = reachableDir(t);
    const file = join(ws, 'gatekit.toml');
    writeFileSync(file, daemonModeToml(shared), { mode: 0o600 });
    const run = await gatekit(['broker', 'token', '--resource', 'notes'], {
      env: { GATEKIT_CONFIG: file, GATEKIT_HOME: join(ws, 'state') },
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr.split('\n')[0]!, /listen directory: .* is writable by others .*sticky bit or not/);
    await assert.rejects(exchange(unchecked(t, daemonModeToml(shared))), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /writable by others/);
      assert.ok(!err.message.includes(ID_TOKEN));
      return true;
    });
    assert.deepEqual(squatter.lines.slice(1), [], 'the squatter received nothing');
  });

  it("the exchange client refuses a token_listen socket nobody bound first (its directory not world-writable); with socket_owner naming that account it is the daemon's", async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const dir = groupDir(t, user);
    const squatter = await squat(t, user, join(dir, 'token.sock'));
    const home = reachableDir(t);
    const file = join(home, 'gatekit.toml');
    writeFileSync(file, daemonModeToml(dir), { mode: 0o600 });
    const config = loadConfig({ config: file });
    await assert.rejects(exchange(config), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, new RegExp(`token.sock is owned by uid ${user.uid}, not by you`));
      return true;
    });
    assert.deepEqual(squatter.lines.slice(1), [], 'the squatter received nothing');
    // The control: a shared daemon running as that account is named in [daemon] socket_owner.
    writeFileSync(file, daemonModeToml(dir, `socket_owner = "${user.name}"`), { mode: 0o600 });
    const shared = loadConfig({ config: file });
    assert.equal(shared.daemon.socket_owner, user.name);
    assert.equal((await exchange(shared)).access_token, 'x');
    assert.match(await squatter.waitFor(/^got POST \/token/), /subject_token=/);
  });

  it("gatekit connect's dispatcher refuses a server socket nobody bound first", async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const dir = groupDir(t, user);
    const squatter = await squat(t, user, join(dir, 'notes.sock'));
    const config = unchecked(t, daemonModeToml(dir));
    assert.throws(() => daemonEndpoint(config, config.servers.get('notes')!), { code: 'CONFIG_INVALID' });
    assert.deepEqual(squatter.lines.slice(1), []);
  });

  it('a server socket bound by nobody after the dispatcher was made (the daemon was down) gets no request either', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const dir = groupDir(t, user);
    const config = unchecked(t, daemonModeToml(dir));
    const endpoint = daemonEndpoint(config, config.servers.get('notes')!);
    const squatter = await squat(t, user, join(dir, 'notes.sock'));
    await assert.rejects(
      send(endpoint, 'POST', { authorization: `Bearer ${ID_TOKEN}`, 'content-type': 'application/json' }, '{}'),
      { code: 'CONFIG_INVALID' },
    );
    assert.deepEqual(squatter.lines.slice(1), []);
  });

  it('the exec agent client refuses an agent socket nobody bound', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const dir = groupDir(t, user);
    const socket = join(dir, 'agent.sock');
    const squatter = await squat(t, user, socket);
    const home = reachableDir(t);
    const file = join(home, 'gatekit.toml');
    writeFileSync(file, daemonModeToml(home), { mode: 0o600 });
    await assert.rejects(agentToken(socket, 'urn:gatekit:server:notes', 60, file), { code: 'CONFIG_INVALID' });
    assert.deepEqual(squatter.lines.slice(1), []);
  });
});
