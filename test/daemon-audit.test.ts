import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAuditKey, verifyAuditFiles } from '../lib/audit/index.js';
import { daemonConfig, endSession, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';

const CLIENTS = 16;
const CALLS = 500;

describe('daemon: audit under load', () => {
  let h: Harness;
  before(async () => {
    // No time bound a slower machine could miss: 16 children starting at once on 2 slow cores take what they take.
    const toml = (await daemonConfig())
      .replace('max_sessions_per_user = 4', `max_sessions_per_user = ${CLIENTS}`)
      .replace('max_children = 6', `max_children = ${CLIENTS + 2}`)
      .replace('first_response_timeout = "3s"', 'first_response_timeout = "1h"\nstart_timeout = "1h"');
    h = await startHarness(toml);
  });
  after(async () => {
    await h.close();
  });

  it(`${CLIENTS} clients × ${CALLS} calls: exactly one terminal line per request, all valid JSON, no token anywhere`, async () => {
    const tokens = await Promise.all(Array.from({ length: CLIENTS }, () => h.token('notes')));
    const clients = await Promise.all(tokens.map((t) => sdkClient(h, 'notes', t)));
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < CALLS; i++) {
          const tool = i % 50 === 49 ? 'write_note' : 'echo';
          await client
            .callTool({ name: tool, arguments: { message: `c${c}-${i}`, name: 'n', text: 'secret-argument' } })
            .catch(() => undefined);
        }
      }),
    );
    await Promise.all(clients.map((c) => endSession(c)));

    const text = readFileSync(join(h.ws.dir, 'audit.jsonl'), 'utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const calls = lines.filter((l) => l['method'] === 'tools/call');
    assert.equal(calls.length, CLIENTS * CALLS, 'one line per tools/call');
    const bySession = new Map<string, Set<unknown>>();
    for (const l of calls) {
      const seen = bySession.get(String(l['session'])) ?? new Set();
      assert.ok(!seen.has(l['rpc_id']), `two lines for one request ${String(l['rpc_id'])}`);
      seen.add(l['rpc_id']);
      bySession.set(String(l['session']), seen);
    }
    assert.equal(bySession.size, CLIENTS);
    assert.equal(
      calls.filter((l) => l['event'] === 'denied').length,
      CLIENTS * (CALLS / 50),
      "write_note is outside alice's policy",
    );
    for (const token of tokens)
      for (const part of token.split('.').slice(1)) assert.ok(!text.includes(part), 'no token part in the audit log');
    assert.ok(!text.includes('secret-argument') && !text.includes('c0-1'), 'no tool arguments');
    assert.ok(calls.every((l) => l['user'] === 'alice@example.com' && typeof l['ts'] === 'string'));

    // The hash chain holds under load: consecutive seq, each prev the hash of the line before, all sealed at stop.
    await h.daemon.stop();
    const report = await verifyAuditFiles(
      [join(h.ws.dir, 'audit.jsonl')],
      [loadAuditKey(h.config.daemon.audit_key).publicJwk],
    );
    assert.deepEqual(report.problems, []);
    assert.ok(
      report.checkpoints >= Math.floor(lines.length / 1000),
      `${report.checkpoints} checkpoints for ${lines.length} lines`,
    );
    assert.ok(calls.every((l) => typeof l['args_digest'] === 'string' && typeof l['trace_id'] === 'string'));
  });
});
