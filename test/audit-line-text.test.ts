import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AuditLog, hashLine, resultLine, type AuditEvent } from '../lib/audit/index.js';
import { GENESIS } from '../lib/audit/chain.js';

function openLog(t: TestContext): { log: AuditLog; lines: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-audit-text-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'audit.jsonl');
  const log = new AuditLog(file);
  t.after(() => log.close());
  return { log, lines: () => readFileSync(file, 'utf8').trimEnd().split('\n') };
}

describe('audit: a line is its head as text, then the event as JSON (lib/audit/log.ts)', () => {
  it('writes exactly JSON.stringify of seq, prev, ts and the event, in that order', (t) => {
    const { log, lines } = openLog(t);
    const caller = { user: 'alice@example.com', sub: 'sub-"alice"\n', groups: [], jti: 'j1' };
    const trace = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) };
    const source = { caller, method: 'tools/call', tool: 'echo', id: 7, arguments: undefined, argsDigest: 'd', trace };
    const event = resultLine('notes', 'session', 's1', source, 'ok', undefined, 0.25);
    log.write(event);
    const [line] = lines();
    const parsed = JSON.parse(line!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed).slice(0, 3), ['seq', 'prev', 'ts']);
    assert.equal(line, JSON.stringify({ seq: 1, prev: GENESIS, ts: parsed['ts'], ...event }));
    assert.equal(parsed['sub'], 'sub-"alice"\n', 'the event part is escaped as JSON');
    assert.ok(!('arguments' in parsed), 'no arguments member unless the server sets audit_arguments');
  });

  it("never takes seq, prev or ts from an event's own fields; the chain still links", (t) => {
    const { log, lines } = openLog(t);
    log.write({ event: 'daemon.start', pid: 1 });
    const hostile = { event: 'request', seq: 99, prev: 'sha256:forged', ts: '1970-01-01T00:00:00.000Z', tool: 'x' };
    log.write(hostile as unknown as AuditEvent);
    const [first, second] = lines();
    const parsed = JSON.parse(second!) as Record<string, unknown>;
    assert.equal(parsed['seq'], 2);
    assert.equal(parsed['prev'], hashLine(first!));
    assert.notEqual(parsed['ts'], '1970-01-01T00:00:00.000Z');
    assert.equal(parsed['tool'], 'x');
    assert.equal(second!.match(/"seq":/g)!.length, 1, 'each key once');
    assert.equal(second!.match(/"ts":/g)!.length, 1, 'each key once');
  });

  it('writes an event with no fields beyond its name as a valid line', (t) => {
    const { log, lines } = openLog(t);
    log.write({ event: 'daemon.reload' } as AuditEvent);
    const parsed = JSON.parse(lines()[0]!) as Record<string, unknown>;
    assert.equal(parsed['event'], 'daemon.reload');
  });

  it('escapes DEL, C1 controls, U+2028/2029 and bidi controls as \\uXXXX; the chain hashes the bytes written', (t) => {
    const { log, lines } = openLog(t);
    const tool = 'a\u007fb\u0085c\u009fd\u2028e\u2029f\u202ag\u202eh\u2066i\u2069j\u00a0k\u200dl';
    log.write({ event: 'denied', tool, error: `tool "${tool}"`, arguments: { [`k\u202e`]: ['\u2067'] } });
    log.write({ event: 'daemon.reload' } as AuditEvent);
    const [first, second] = lines();
    assert.ok(!/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(first!), first);
    assert.ok(
      first!.includes(
        '"tool":"a\\u007fb\\u0085c\\u009fd\\u2028e\\u2029f\\u202ag\\u202eh\\u2066i\\u2069j\u00a0k\u200dl"',
      ),
    );
    const parsed = JSON.parse(first!) as Record<string, unknown>;
    assert.equal(parsed['tool'], tool, 'parses to the same value');
    assert.deepEqual(parsed['arguments'], { 'k\u202e': ['\u2067'] });
    assert.equal(
      (JSON.parse(second!) as { prev: string }).prev,
      hashLine(first!),
      'prev is the hash of the escaped line',
    );
  });
});
