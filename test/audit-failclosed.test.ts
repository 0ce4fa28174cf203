import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { startWorkloadIssuer } from '../fixtures/workload-issuer/server.js';
import { hashLine, loadAuditKey, verifyAuditFiles } from '../lib/audit/index.js';
import { daemonConfig, INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { startTokenHost, TOKEN_TYPE, type ExchangeAnswer } from './helpers/token-endpoint.js';

/** A raw MCP session over the notes listener: what status each tools/call gets. */
async function rawSession(h: Harness) {
  const auth = { ...JSON_HEADERS, authorization: `Bearer ${await h.token('notes')}` };
  const init = await raw(h.unix('notes'), 'POST', auth, INITIALIZE);
  assert.equal(init.status, 200, init.body);
  const headers = {
    ...auth,
    'mcp-session-id': String(init.headers['mcp-session-id']),
    'mcp-protocol-version': '2025-06-18',
  };
  await raw(h.unix('notes'), 'POST', headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  return (id: number) =>
    raw(
      h.unix('notes'),
      'POST',
      headers,
      JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: `call ${id}` } },
      }),
    );
}

const auditLines = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A 64 KiB tmpfs; `before` (the daemon's stop) runs first at clean-up, since an open file keeps it busy. */
function mountTmpfs(t: TestContext, before: { close?: () => Promise<void> }): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-audit-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  t.after(async () => {
    await before.close?.();
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills the tmpfs at `mnt` (ENOSPC from then on); the function it returns frees the space again. */
function fillUp(mnt: string): () => void {
  const filler = join(mnt, 'filler');
  try {
    writeFileSync(filler, Buffer.alloc(128 * 1024, 1));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  return () => unlinkSync(filler);
}

describe('audit: fail closed', () => {
  it('a full disk: new requests get 503, served requests lose no line, and it recovers when space is freed', async (t) => {
    const cleanup: { close?: () => Promise<void> } = {};
    const mnt = mountTmpfs(t, cleanup);
    if (!mnt) return t.skip('cannot mount a tmpfs here (needs root and mount permission)');
    const file = join(mnt, 'audit.jsonl');
    const h = await startHarness((await daemonConfig()).replace('audit_log = "audit.jsonl"', `audit_log = "${file}"`));
    cleanup.close = () => h.close();
    const call = await rawSession(h);
    const served: number[] = [];
    let id = 1;
    for (; id <= 3; id++) {
      assert.equal((await call(id)).status, 200);
      served.push(id);
    }

    const free = fillUp(mnt);
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (; id < 500 && !refused; id++) {
      const res = await call(id);
      if (res.status === 503) refused = res;
      else {
        assert.equal(res.status, 200, res.body);
        served.push(id);
      }
    }
    assert.ok(refused, 'the daemon refused once the audit log could not be written');
    assert.equal(JSON.parse(refused.body).error.code, -32603);
    assert.equal((await call(id++)).status, 503, 'still refused while the disk is full');
    assert.equal((await raw(h.unix('notes'), 'GET', {}, undefined, '/healthz')).status, 503);

    free();
    const after = id++;
    assert.equal((await call(after)).status, 200, 'serves again by itself once writing works');
    served.push(after);
    await h.daemon.stop();

    const lines = auditLines(file);
    const calls = lines.filter((l) => l['method'] === 'tools/call');
    assert.deepEqual(
      calls.map((l) => l['rpc_id']).sort((a, b) => Number(a) - Number(b)),
      served,
      'one line for every served request, none for refused ones',
    );
    const report = await verifyAuditFiles([file], [loadAuditKey(h.config.daemon.audit_key).publicJwk]);
    assert.deepEqual(report.problems, []);
  });

  it('daemon mode: POST /token answers 503 temporarily_unavailable while the log is failing, issues again after', async (t) => {
    const cleanup: { close?: () => Promise<void> } = {};
    const mnt = mountTmpfs(t, cleanup);
    if (!mnt) return t.skip('cannot mount a tmpfs here (needs root and mount permission)');
    const file = join(mnt, 'audit.jsonl');
    const wi = await startWorkloadIssuer();
    cleanup.close = () => wi.close();
    const trust = [
      'allow_groups = ["ci"]',
      '[[trust.workload]]',
      `issuer = "${wi.url}"`,
      'audience = "gatekit-ci"',
      'claims = { repository = "octo-org/deploy" }',
      'groups = ["ci"]',
    ].join('\n');
    const host = await startTokenHost(wi.url, '', trust, { auditLog: file });
    cleanup.close = async () => {
      await host.close();
      await wi.close();
    };
    const exchange = async () => host.exchange(await wi.mint(), TOKEN_TYPE.jwt);
    let issued = 0;
    assert.equal((await exchange()).status, 200);
    issued++;

    const free = fillUp(mnt);
    let refused: ExchangeAnswer | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const res = await exchange();
      if (res.status === 503) refused = res;
      else {
        assert.equal(res.status, 200, res.text);
        issued++;
      }
    }
    assert.ok(refused, 'the token endpoint refused once the audit log could not be written');
    assert.equal(refused.body['error'], 'temporarily_unavailable');
    assert.equal(typeof refused.body['error_description'], 'string');
    assert.equal(refused.body['access_token'], undefined);
    assert.equal(refused.headers['cache-control'], 'no-store');
    // Hostile input gets the same answer: nothing is verified, counted or issued while nothing can be audited.
    for (const hostile of ['x'.repeat(20_000), 'a.b.c', await wi.mint()]) {
      const res = await host.exchange(hostile, TOKEN_TYPE.jwt);
      assert.equal(res.status, 503, res.text);
      assert.ok(!res.text.includes(hostile.slice(0, 64)));
    }

    free();
    assert.equal((await exchange()).status, 200, 'issues again by itself once writing works');
    issued++;
    await host.daemon.stop();
    const exchanges = auditLines(file).filter((l) => l['event'] === 'token.exchange');
    assert.equal(exchanges.length, issued, 'one token.exchange line for every token issued, none for refusals');
  });

  it('an audit file removed under the daemon is recreated at its path, chained to the old one', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    const file = join(h.ws.dir, 'audit.jsonl');
    const call = await rawSession(h);
    assert.equal((await call(1)).status, 200);
    const before = readFileSync(file, 'utf8');
    unlinkSync(file);
    assert.equal((await call(2)).status, 200);
    await h.daemon.stop();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(JSON.parse(lines[0]!).prev, hashLine(before.trimEnd().split('\n').at(-1)!));
    assert.ok(lines.some((l) => JSON.parse(l).event === 'audit.reopened'));
    assert.ok(lines.some((l) => JSON.parse(l).rpc_id === 2));
    const old = join(h.ws.dir, 'removed.jsonl');
    writeFileSync(old, before);
    const report = await verifyAuditFiles([old, file], [loadAuditKey(h.config.daemon.audit_key).publicJwk]);
    assert.deepEqual(report.problems, []);
  });
});
