import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit, type CliResult } from './helpers/cli.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

// Bounds that only a hang reaches (a doctor run takes well under a second here; its checks end within 3 s each):
// each step fails with its own message instead of the whole file waiting for the runner's per-file timeout.
const CLI_MS = 45_000;
const STEP = { timeout: 60_000 };

/** `gatekit ARGS` for a workspace; one killed at CLI_MS fails here, saying so, with its stderr. */
async function run(args: readonly string[], ws: Workspace): Promise<CliResult> {
  const r = await gatekit(args, { env: ws.env, timeoutMs: CLI_MS });
  assert.notEqual(r.code, null, `gatekit ${args.join(' ')} did not end within ${CLI_MS} ms; stderr:\n${r.stderr}`);
  return r;
}

/** The ✘ line for one check, with its fix. */
function failure(stdout: string, name: string): string {
  const lines = stdout.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`✘ ${name}`));
  assert.ok(i >= 0, `expected ✘ ${name} in:\n${stdout}`);
  return `${lines[i]}\n${lines[i + 1]}`;
}

describe('gatekit doctor', () => {
  let idp: DevIdp;
  let ws: Workspace;
  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(basicConfig(idp.issuer));
    assert.equal((await run(['init'], ws)).code, 0);
  }, STEP);
  after(async () => {
    await idp.close();
    ws.remove();
  }, STEP);

  it('healthy keys and IdP pass; a daemon that is not running fails with the command to start it', STEP, async () => {
    const r = await run(['doctor'], ws);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✔ signing key/);
    assert.match(r.stdout, /✔ trusted keys/);
    assert.match(r.stdout, /✔ identity provider/);
    assert.match(failure(r.stdout, 'daemon: notes'), /fix: start it: gatekit daemon/);
    assert.match(failure(r.stdout, 'login'), /gatekit broker login/);
  });

  it('a signing key others can read: the config check fails naming chmod', STEP, async () => {
    chmodSync(join(ws.dir, 'keys', 'broker.jwk'), 0o644);
    const r = await run(['doctor'], ws);
    chmodSync(join(ws.dir, 'keys', 'broker.jwk'), 0o600);
    assert.equal(r.code, 1);
    assert.match(failure(r.stdout, 'config'), /chmod 600/);
  });

  it('a missing key: ✘ with "gatekit init"', STEP, async () => {
    const other = workspace(basicConfig(idp.issuer));
    try {
      const r = await run(['doctor'], other);
      assert.match(failure(r.stdout, 'signing key'), /missing[\s\S]*gatekit init/);
    } finally {
      other.remove();
    }
  });

  it('an IdP that is down: ✘ identity provider with the reason', STEP, async () => {
    const down = workspace(basicConfig('http://127.0.0.1:9'));
    try {
      assert.equal((await run(['init'], down)).code, 0);
      const r = await run(['doctor', '--json'], down);
      const idpCheck = JSON.parse(r.stdout).find((c: { name: string }) => c.name === 'identity provider');
      assert.equal(idpCheck.ok, false);
      assert.match(idpCheck.detail, /cannot reach/);
    } finally {
      down.remove();
    }
  });

  it('a deleted JWKS: ✘ trusted keys', STEP, async () => {
    rmSync(join(ws.dir, 'keys', 'broker.jwks'));
    const r = await run(['doctor'], ws);
    assert.match(failure(r.stdout, 'trusted keys'), /gatekit init/);
  });

  it(
    "a daemon socket that answers a byte at a time: ✘ daemon within the check's bound, not a hang",
    STEP,
    async (t) => {
      // A hostile peer at the notes listener (unix:run/notes.sock): headers, then one body byte every 100 ms, so
      // the socket is never idle long enough for an idle timeout.
      const drips = new Set<NodeJS.Timeout>();
      const peer = createServer((socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n');
        const drip = setInterval(() => socket.write('x'), 100);
        drips.add(drip);
        socket.on('close', () => clearInterval(drip));
        socket.on('error', () => clearInterval(drip));
      });
      mkdirSync(join(ws.dir, 'run'), { recursive: true });
      await new Promise<void>((resolve) => peer.listen(join(ws.dir, 'run', 'notes.sock'), resolve));
      t.after(() => {
        drips.forEach(clearInterval);
        peer.close();
      });
      const r = await run(['doctor', '--json'], ws);
      const check = JSON.parse(r.stdout).find((c: { name: string }) => c.name === 'daemon: notes');
      assert.equal(check.ok, false);
      assert.match(check.detail, /no answer within/);
    },
  );
});
