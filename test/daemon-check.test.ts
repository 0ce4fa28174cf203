import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { initialize } from '../lib/setup/index.js';
import { gatekit } from './helpers/cli.js';
import { daemonConfig } from './helpers/daemon-harness.js';
import { workspace, type Workspace } from './helpers/workspace.js';

async function initialized(toml?: string): Promise<Workspace> {
  const ws = workspace(toml ?? (await daemonConfig()));
  await initialize(loadConfig({ config: ws.config }), { force: false });
  return ws;
}

describe('gatekit daemon --check', () => {
  it('a good config: exit 0, says what it loaded, and starts nothing (no socket, no audit file, no line)', async (t) => {
    const ws = await initialized();
    t.after(() => ws.remove());
    const before = readdirSync(ws.dir).sort();
    const r = await gatekit(['daemon', '--check', '--config', ws.config]);
    assert.equal(r.code, 0, r.stderr);
    for (const key of ['daemon.audit_key', 'daemon.audit_log', 'daemon.trusted_keys', 'daemon.tls'])
      assert.match(r.stdout, new RegExp(`✔ ${key.replace('.', '\\.')}\\s`), key);
    assert.match(r.stdout, /nothing was started/);
    assert.equal(existsSync(join(ws.dir, 'run', 'notes.sock')), false, 'no listener');
    assert.equal(existsSync(join(ws.dir, 'audit.jsonl')), false, 'no audit file, so no audit line');
    assert.deepEqual(readdirSync(ws.dir).sort(), before);
  });

  it('an existing audit log is opened as the daemon opens it and not written to', async (t) => {
    const ws = await initialized();
    t.after(() => ws.remove());
    writeFileSync(join(ws.dir, 'audit.jsonl'), '', { mode: 0o600 });
    const r = await gatekit(['daemon', '--check', '--config', ws.config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /daemon\.audit_log\s+\S+audit\.jsonl \(appendable\)/);
    assert.equal(readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8'), '', 'not a byte written');
  });

  it('a missing TLS file: exit 2 naming daemon.tls.cert; doctor says the same', async (t) => {
    const ws = await initialized();
    t.after(() => ws.remove());
    rmSync(join(ws.dir, 'certs', 'daemon.pem'));
    const r = await gatekit(['daemon', '--check', '--config', ws.config]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /daemon\.tls: .*cannot read daemon\.tls\.cert \(\S+daemon\.pem\): ENOENT/);
    const doctor = await gatekit(['doctor', '--config', ws.config], { timeoutMs: 60_000 });
    assert.match(doctor.stdout, /✘ daemon start-up\s+daemon\.tls: .*daemon\.tls\.cert/);
  });

  it('unreadable or hostile trusted_keys: exit 2 naming daemon.trusted_keys', async (t) => {
    const ws = await initialized();
    t.after(() => ws.remove());
    const keys = join(ws.dir, 'keys', 'broker.jwks');
    // Root reads any mode, so "unreadable" is a directory where the file should be; then a file that is no JWKS.
    rmSync(keys);
    mkdirSync(keys);
    let r = await gatekit(['daemon', '--check', '--config', ws.config]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /daemon\.trusted_keys: /);
    rmSync(keys, { recursive: true });
    writeFileSync(keys, '{"keys": [{"kty": "RSA", "n": "\u0000"}]}\n');
    r = await gatekit(['daemon', '--check', '--config', ws.config]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /daemon\.trusted_keys: /);
    assert.equal(existsSync(join(ws.dir, 'run', 'notes.sock')), false);
  });
});
