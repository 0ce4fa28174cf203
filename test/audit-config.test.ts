import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, createAuditKey, loadAuditKey, verifyAuditFiles } from '../lib/audit/index.js';
import { loadConfig } from '../lib/config/index.js';
import { initialize } from '../lib/setup/index.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const withDaemon = (lines: string) =>
  basicConfig('https://idp.example.com').replace('[daemon]\n', `[daemon]\n${lines}\n`);

describe('audit: config and key', () => {
  it('defaults: audit_key beside the broker key, a checkpoint every 1000 lines or 60 s', (t) => {
    const ws = workspace(withDaemon(''));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    assert.equal(config.daemon.audit_key, join(ws.dir, 'keys', 'audit.jwk'));
    assert.deepEqual(config.daemon.audit_checkpoint, { lines: 1000, interval: 60 });
    ws.write(withDaemon('audit_key = "secret/a.jwk"\naudit_checkpoint = { lines = 10, interval = "500ms" }'));
    const custom = loadConfig({ config: ws.config });
    assert.equal(custom.daemon.audit_key, join(ws.dir, 'secret', 'a.jwk'));
    assert.deepEqual(custom.daemon.audit_checkpoint, { lines: 10, interval: 0.5 });
  });

  it('refuses bad audit_checkpoint values and unknown keys in it', (t) => {
    const ws = workspace(withDaemon(''));
    t.after(() => ws.remove());
    for (const bad of [
      '{ lines = 0 }',
      '{ lines = 1.5 }',
      '{ interval = "never" }',
      '{ interval = -1 }',
      '{ line = 5 }',
      '"60s"',
    ]) {
      ws.write(withDaemon(`audit_checkpoint = ${bad}`));
      assert.throws(() => loadConfig({ config: ws.config }), { code: 'CONFIG_INVALID' }, bad);
    }
  });

  it('gatekit init creates the audit key 0600, distinct from the broker key; others cannot read it', async (t) => {
    const ws = workspace(withDaemon(''));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    const result = await initialize(config, { force: false });
    const file = config.daemon.audit_key;
    assert.ok(result.created.includes(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const audit = JSON.parse(readFileSync(file, 'utf8'));
    const broker = JSON.parse(readFileSync(join(ws.dir, 'keys', 'broker.jwk'), 'utf8'));
    assert.notEqual(audit.x, broker.x);
    assert.ok((await initialize(config, { force: false })).kept.includes(file), 'kept on a second init');
    chmodSync(file, 0o644);
    assert.throws(() => loadConfig({ config: ws.config }), { code: 'CONFIG_INVALID' });
    assert.throws(() => loadAuditKey(file), { code: 'KEY_INVALID' });
  });

  it('refuses an audit key that is not a private Ed25519 JWK', (t) => {
    const ws = workspace(withDaemon(''));
    t.after(() => ws.remove());
    const file = join(ws.dir, 'bad.jwk');
    for (const bad of [
      'not json',
      '{"kty":"OKP","crv":"Ed25519","x":"abc"}',
      '{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}',
      '[]',
    ]) {
      writeFileSync(file, bad, { mode: 0o600 });
      assert.throws(() => loadAuditKey(file), { code: 'KEY_INVALID' }, bad);
    }
    assert.throws(() => loadAuditKey(join(ws.dir, 'missing.jwk')), { code: 'KEY_INVALID' });
  });
});

describe('audit: checkpoint timing', () => {
  it('writes a checkpoint after the interval when lines are unsealed, and one on reload', async (t) => {
    const ws = workspace(withDaemon(''));
    t.after(() => ws.remove());
    const keyFile = join(ws.dir, 'audit.jwk');
    createAuditKey(keyFile);
    const signer = loadAuditKey(keyFile);
    const file = join(ws.dir, 'audit.jsonl');
    const log = new AuditLog(file, { signer, checkpoint: { lines: 1000, interval: 0.05 } });
    t.after(() => log.close());
    const reasons = () =>
      readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.event === 'audit.checkpoint')
        .map((l) => l.reason);
    const sealed = new Promise<void>((resolve) => {
      const watcher = watch(file, () => {
        if (reasons().includes('interval')) {
          watcher.close();
          resolve();
        }
      });
    });
    log.write({ event: 'daemon.start' });
    await sealed;
    log.reopen();
    assert.deepEqual(reasons(), ['interval', 'reload']);
    log.close();
    assert.deepEqual((await verifyAuditFiles([file], [signer.publicJwk])).problems, []);
  });
});
