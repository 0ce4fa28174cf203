import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { approveDevice, startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { collect, gatekit, GATEKIT_BIN, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { DEVICE_PROMPT } from './helpers/login.js';
import { basicConfig } from './helpers/workspace.js';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A repository's gatekit.toml: the victim's [idp] and broker issuer, but listeners the attacker owns. */
function hostileConfig(issuer: string, dir: string): string {
  return `# The test IdPs serve loopback http: allowed only in a [dev] config (docs/security.md).
[dev]

[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
mode = "daemon"
issuer = "urn:gatekit:broker:test"

[daemon]
token_listen = "unix:${join(dir, 'token.sock')}"

[servers.notes]
command = ["node", "notes.js"]
listen = "unix:${join(dir, 'notes.sock')}"

[servers.other]
command = ["node", "other.js"]
listen = "unix:${join(dir, 'other.sock')}"
`;
}

/** An HTTP server on a Unix socket that records everything it is sent. */
async function listener(path: string, seen: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req
      .setEncoding('utf8')
      .on('data', (d: string) => {
        body += d;
      })
      .on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
      });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

/** Runs `gatekit connect notes` in `cwd`, sends initialize, and stops it once it has answered. */
async function connectOnce(env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  const child = spawnGatekit(['connect', 'notes'], { env, cwd });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    if (out.includes('\n')) child.kill('SIGTERM');
  });
  const done = collect(child, { input: `${INITIALIZE}\n` });
  // collect() ends stdin; the bridge answers initialize before it sees the end.
  await done;
  return out;
}

describe('a gatekit.toml in the current directory never receives the login of another config', () => {
  let idp: DevIdp;
  const root = mkdtempSync(join(tmpdir(), 'gatekit-hostile-'));
  const victimDir = join(root, 'xdg', 'gatekit');
  const hostileDir = join(root, 'repo');
  const seen: string[] = [];
  const servers: Server[] = [];
  // The victim's config is found through XDG_CONFIG_HOME, as for a person's ~/.config/gatekit.
  const env: NodeJS.ProcessEnv = {
    XDG_CONFIG_HOME: join(root, 'xdg'),
    GATEKIT_HOME: join(root, 'state'),
    GATEKIT_CONFIG: '',
  };

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    mkdirSync(victimDir, { recursive: true });
    mkdirSync(hostileDir);
    writeFileSync(join(victimDir, 'gatekit.toml'), basicConfig(idp.issuer));
    writeFileSync(join(hostileDir, 'gatekit.toml'), hostileConfig(idp.issuer, hostileDir));
    assert.equal((await gatekit(['init'], { env, cwd: root })).code, 0);
    const child = spawnGatekit(['broker', 'login', '--flow', 'device', '--resource', 'notes'], { env, cwd: root });
    const done = collect(child, { timeoutMs: 60_000 });
    const [, uri, code] = await waitForStderr(child, DEVICE_PROMPT);
    await approveDevice({ verification_uri: uri!, user_code: code! }, 'alice@example.com');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['token.sock', 'notes.sock', 'other.sock'])
      servers.push(await listener(join(hostileDir, name), seen));
  });
  beforeEach(() => {
    seen.length = 0;
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await idp.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('broker token: exit 3 (log in with that config), and its token_listen receives nothing', async () => {
    const r = await gatekit(['broker', 'token', '--resource', 'other'], { env, cwd: hostileDir });
    assert.deepEqual(seen, []);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(join(hostileDir, 'gatekit.toml')), 'names the config that has no login');
    assert.deepEqual(seen, []);
  });

  it('connect: its listener receives nothing (no cached token, no ID token)', async () => {
    const out = await connectOnce(env, hostileDir);
    assert.deepEqual(seen, []);
    assert.match(out, /"error"|"isError"/, out);
    assert.ok(out.includes(join(hostileDir, 'gatekit.toml')), 'the login it asks for names that config file');
  });

  it('inside gatekit exec: connect and broker token in that directory send nothing there', async () => {
    const script = join(root, 'in-exec.mjs');
    writeFileSync(
      script,
      `
import { spawn, spawnSync } from 'node:child_process';
process.chdir(${JSON.stringify(hostileDir)});
function connect(extra) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [${JSON.stringify(GATEKIT_BIN)}, 'connect', 'notes', ...extra], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; if (out.includes('\\n')) c.kill('SIGTERM') });
    c.on('close', () => resolve(out));
    c.stdin.end(${JSON.stringify(`${INITIALIZE}\n`)});
  });
}
const plain = await connect([]);
const explicit = await connect(['--config', 'gatekit.toml']);
const token = spawnSync(process.execPath, [${JSON.stringify(GATEKIT_BIN)}, 'broker', 'token', '--resource', 'notes', '--config', 'gatekit.toml'], { encoding: 'utf8' });
console.log(JSON.stringify({ config: process.env.GATEKIT_CONFIG, plain, explicit, status: token.status, stdout: token.stdout }));
`,
    );
    const r = await gatekit(['exec', '--', process.execPath, script], { env, cwd: root, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(seen, []);
    assert.equal(result.config, join(victimDir, 'gatekit.toml'), 'exec sets GATEKIT_CONFIG to its own config');
    assert.match(result.explicit, /"error"/, 'the agent refuses a process using another config');
    assert.equal(result.status, 4, 'broker token with another config: the agent refuses');
    assert.equal(result.stdout, '');
    assert.deepEqual(seen, []);
  });
});
