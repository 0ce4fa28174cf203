import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { DpopKey } from '../lib/token/index.js';
import { gatekit, GATEKIT_BIN } from './helpers/cli.js';
import { NOTES_SERVER } from './helpers/daemon-harness.js';
import { deviceTokensFor } from './helpers/device-token.js';
import { decodePart } from './helpers/forge.js';
import { deviceLoginCli } from './helpers/login.js';
import { GRANT, personConfig, startTokenHost, TOKEN_TYPE, type TokenHost } from './helpers/token-endpoint.js';
import { workspace, type Workspace } from './helpers/workspace.js';

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';

function localConfig(issuer: string): string {
  return `[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
issuer = "urn:gatekit:broker:test"

[daemon]
audit_log = "audit.jsonl"

[servers.notes]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com"]
token_binding = "dpop"
`;
}

async function callEcho(ws: Workspace, command: string[], message: string): Promise<string> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GATEKIT_BIN, ...command],
    env: { ...process.env, ...ws.env } as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'dpop-connect-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    return text(await client.callTool({ name: 'echo', arguments: { message } }));
  } finally {
    await client.close();
  }
}

describe('gatekit connect with DPoP: a per-process key, tokens bound to it, a proof on every request', () => {
  let idp: DevIdp;
  let ws: Workspace;
  let daemon: Daemon;

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(localConfig(idp.issuer));
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    daemon = await startDaemon(loadConfig({ config: ws.config }));
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
  });
  after(async () => {
    await daemon?.stop();
    await idp?.close();
    ws?.remove();
  });

  const accepted = () =>
    readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['event'] === 'request' && l['tool'] === 'echo' && l['outcome'] === 'ok');

  it('a real SDK client through gatekit connect calls a tool on a token_binding = "dpop" server', async () => {
    assert.equal(await callEcho(ws, ['connect', 'notes'], 'bound by dpop'), 'bound by dpop');
    assert.equal(accepted().length, 1);
    // What broker token prints (a plain bearer token) is refused by this server.
    const plain = (await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env })).stdout.trim();
    assert.equal(decodePart(plain, 1)['cnf'], undefined);
  });

  it('inside gatekit exec, connect gets its bound token from the agent (which checks the proof)', async () => {
    assert.equal(
      await callEcho(ws, ['exec', '--', process.execPath, GATEKIT_BIN, 'connect', 'notes'], 'via the agent'),
      'via the agent',
    );
    assert.equal(accepted().length, 2);
  });

  it('the exec agent binds to the key of a proof it checked, and refuses a replayed, misdirected or garbage proof', async () => {
    const script = join(ws.dir, 'agent-proofs.mjs');
    writeFileSync(script, AGENT_SCRIPT);
    const tokenModule = pathToFileURL(
      join(fileURLToPath(new URL('.', import.meta.url)), '..', 'lib', 'token', 'index.js'),
    ).href;
    const r = await gatekit(['exec', '--', process.execPath, script, tokenModule], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { good: number; jkt: string; cnf: unknown; codes: string[] };
    assert.equal(seen.good, 200);
    assert.deepEqual(seen.cnf, { jkt: seen.jkt });
    assert.deepEqual(seen.codes, ['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST']);
  });
});

/** Run under `gatekit exec`: asks its agent directly, with good, replayed, misdirected and garbage proofs. */
const AGENT_SCRIPT = `
import { realpathSync } from 'node:fs';
import { request } from 'node:http';
const { DpopKey } = await import(process.argv[2]);
const config = realpathSync(process.env.GATEKIT_CONFIG);
const post = (proof) => new Promise((resolve, reject) => {
  const body = JSON.stringify({ resource: 'notes', min_ttl: 60, config, dpop_proof: proof });
  const req = request({ socketPath: process.env.GATEKIT_AGENT, path: '/token', method: 'POST' }, (res) => {
    let t = '';
    res.on('data', (d) => { t += d }).on('end', () => resolve({ status: res.statusCode, body: JSON.parse(t) }));
  });
  req.on('error', reject);
  req.end(body);
});
const key = await DpopKey.generate();
const proof = await key.proof('POST', 'http://localhost/token');
const good = await post(proof);
const cnf = JSON.parse(Buffer.from(good.body.access_token.split('.')[1], 'base64url')).cnf;
const replayed = await post(proof);
const wrongUrl = await post(await key.proof('POST', 'http://localhost/mcp'));
const garbage = await post('x.y.z');
const codes = [replayed, wrongUrl, garbage].map((r) => r.body.error);
console.log(JSON.stringify({ good: good.status, jkt: key.jkt, cnf, codes }));
`;

describe('the token endpoint binds the exchanged token to the key of the DPoP proof (RFC 9449 §5)', () => {
  let idp: DevIdp;
  let host: TokenHost;
  let idToken: string;

  before(async () => {
    idp = await startDevIdp();
    host = await startTokenHost(idp.issuer);
    idToken = (await deviceTokensFor(idp.issuer, 'gatekit-cli', 'alice@example.com')).id_token;
  });
  after(async () => {
    await host?.close();
    await idp?.close();
  });

  const exchange = (dpop?: string) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const form = new URLSearchParams({
        grant_type: GRANT,
        resource: 'urn:gatekit:server:notes',
        subject_token: idToken,
        subject_token_type: TOKEN_TYPE.id,
      }).toString();
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        ...(dpop ? { dpop } : {}),
      };
      const req = request({ socketPath: host.socket, path: '/token', method: 'POST', headers }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            body += d;
          })
          .on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(body) }));
      });
      req.on('error', reject);
      req.end(form);
    });

  it("with a proof: token_type DPoP, cnf.jkt = the proof key's thumbprint; without: an unbound bearer token", async () => {
    const key = await DpopKey.generate();
    const bound = await exchange(await key.proof('POST', 'http://localhost/token'));
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    assert.equal(bound.body['token_type'], 'DPoP');
    assert.deepEqual(decodePart(bound.body['access_token'] as string, 1)['cnf'], { jkt: key.jkt });
    const plain = await exchange();
    assert.equal(plain.status, 200);
    assert.equal(plain.body['token_type'], 'Bearer');
    assert.equal(decodePart(plain.body['access_token'] as string, 1)['cnf'], undefined);
  });

  it('refuses replayed, misdirected and garbage proofs: 400 invalid_dpop_proof, an auth.failed line each', async () => {
    const key = await DpopKey.generate('EdDSA');
    const proof = await key.proof('POST', 'http://localhost/token');
    assert.equal((await exchange(proof)).status, 200);
    const bad = [
      proof,
      await key.proof('POST', 'http://localhost/mcp'),
      await key.proof('GET', 'http://localhost/token'),
      'x.y.z',
    ];
    for (const dpop of bad) {
      const failures = host.audit().filter((l) => l['event'] === 'auth.failed').length;
      const r = await exchange(dpop);
      assert.equal(r.status, 400);
      assert.equal(r.body['error'], 'invalid_dpop_proof');
      assert.equal(host.audit().filter((l) => l['event'] === 'auth.failed').length, failures + 1);
    }
    assert.ok(!host.auditText().includes(idToken));
  });
});

describe("gatekit connect in daemon mode: the exchange binds its token to the connect process's key", () => {
  let idp: DevIdp;
  let host: TokenHost;
  let cli: Workspace;

  before(async () => {
    idp = await startDevIdp();
    host = await startTokenHost(idp.issuer, '', 'token_binding = "dpop"', {
      notesCommand: `["${process.execPath}", "${NOTES_SERVER}"]`,
    });
    const notesSocket = join(host.ws.dir, 'run', 'notes.sock');
    cli = workspace(personConfig(idp.issuer, host.socket, `listen = "unix:${notesSocket}"\ntoken_binding = "dpop"\n`));
    assert.equal((await deviceLoginCli(cli, 'alice@example.com')).code, 0);
  });
  after(async () => {
    await host?.close();
    await idp?.close();
    cli?.remove();
  });

  it('a real SDK client through connect calls a tool; the exchanged token was bound (token.exchange, no auth.failed)', async () => {
    assert.equal(await callEcho(cli, ['connect', 'notes'], 'daemon mode'), 'daemon mode');
    const lines = host.audit();
    assert.equal(lines.filter((l) => l['event'] === 'token.exchange').length, 1);
    assert.equal(lines.filter((l) => l['event'] === 'auth.failed').length, 0);
    assert.ok(lines.some((l) => l['event'] === 'request' && l['tool'] === 'echo' && l['outcome'] === 'ok'));
  });
});
