/**
 * What the tamper-evident audit log costs per line, in-process: the old writer (JSON.stringify +
 * one write(2)) against AuditLog with the hash chain, the unlink check and a signed checkpoint
 * every 1000 lines, plus the per-call argument digest (RFC 8785 + SHA-256) and trace context.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  argumentsDigest,
  AuditLog,
  createAuditKey,
  loadAuditKey,
  nextTrace,
  type AuditEvent,
} from '../lib/audit/index.js';

export interface AuditLineCost {
  readonly plainUs: number;
  readonly chainedUs: number;
  readonly digestAndTraceUs: number;
}

const LINE: AuditEvent = {
  event: 'request',
  server: 'notes',
  session: 'V1StGXR8_Z5jdHi6B-myTA',
  user: 'alice@example.com',
  sub: 'sub-alice',
  jti: 'b5b8c1e0-6a3f-4a55-9a3e-2f1f0c6f3c1d',
  method: 'tools/call',
  tool: 'echo',
  rpc_id: 42,
  outcome: 'ok',
  duration_ms: 0.41,
};

function perLineUs(n: number, fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t) * 1000) / n;
}

export function auditLineCost(n = 50_000): AuditLineCost {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-bench-audit-'));
  try {
    const fd = openSync(join(dir, 'plain.jsonl'), 'a', 0o600);
    const plainUs = perLineUs(n, () => {
      writeSync(fd, `${JSON.stringify({ ts: new Date().toISOString(), ...LINE })}\n`);
    });
    closeSync(fd);
    createAuditKey(join(dir, 'audit.jwk'));
    const log = new AuditLog(join(dir, 'chained.jsonl'), {
      signer: loadAuditKey(join(dir, 'audit.jwk')),
      checkpoint: { lines: 1000, interval: 60 },
    });
    const chainedUs = perLineUs(n, () => log.write(LINE));
    log.close();
    const args = { message: 'x', path: '/tmp/notes/today.md', options: { recursive: false, limit: 20 } };
    const digestAndTraceUs = perLineUs(n, () => {
      argumentsDigest(args);
      nextTrace(undefined);
    });
    return { plainUs, chainedUs, digestAndTraceUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cost = auditLineCost();
  console.log(
    `audit line: plain ${cost.plainUs.toFixed(2)} µs, chained ${cost.chainedUs.toFixed(2)} µs ` +
      `(+${(cost.chainedUs - cost.plainUs).toFixed(2)} µs), digest+trace per call ${cost.digestAndTraceUs.toFixed(2)} µs`,
  );
}
