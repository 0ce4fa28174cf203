import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatAuditLine } from '../lib/audit/index.js';
import { gatekit, spawnGatekit } from './helpers/cli.js';

const now = Date.now();
const at = (msAgo: number) => new Date(now - msAgo).toISOString();
const LINES = [
  {
    seq: 1,
    prev: 'sha256:x',
    ts: at(3_600_000),
    event: 'request',
    server: 'notes',
    user: 'alice@example.com',
    method: 'tools/call',
    tool: 'echo',
    outcome: 'ok',
    duration_ms: 1.5,
  },
  {
    seq: 2,
    prev: 'sha256:y',
    ts: at(60_000),
    event: 'denied',
    server: 'fs',
    user: 'bob@example.com',
    method: 'tools/call',
    tool: 'rm\u001b[2J\u0007',
    outcome: 'denied',
  },
  {
    seq: 3,
    prev: 'sha256:z',
    ts: at(1_000),
    event: 'request',
    server: 'notes',
    user: 'bob@example.com',
    method: 'tools/list',
    outcome: 'error',
  },
].map((l) => JSON.stringify(l));

function auditFile(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-tail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'audit.jsonl');
  writeFileSync(file, `${LINES.join('\n')}\n`);
  return file;
}

describe('gatekit audit tail', () => {
  it('prints a table without colour or control characters when stdout is not a terminal', async (t) => {
    const out = await gatekit(['audit', 'tail', auditFile(t)]);
    assert.equal(out.code, 0, out.stderr);
    const rows = out.stdout.trimEnd().split('\n');
    assert.equal(rows.length, 3);
    assert.match(rows[0]!, /request +alice@example\.com +notes +echo +ok +1\.5$/);
    assert.match(rows[1]!, /rm\?\[2J\?/, 'a hostile tool name cannot drive the terminal');
    assert.ok(!out.stdout.includes('\u001b') && !out.stdout.includes('\u0007'));
  });

  it('filters by --user, --server and --since, and --json passes the lines through unchanged', async (t) => {
    const file = auditFile(t);
    const json = async (...args: string[]) =>
      (await gatekit(['audit', 'tail', file, '--json', ...args])).stdout.trimEnd().split('\n').filter(Boolean);
    assert.deepEqual(await json(), LINES);
    assert.deepEqual(await json('--user', 'bob@example.com'), [LINES[1], LINES[2]]);
    assert.deepEqual(await json('--server', 'notes'), [LINES[0], LINES[2]]);
    assert.deepEqual(await json('--since', '10m'), [LINES[1], LINES[2]]);
    assert.deepEqual(await json('--since', at(30_000)), [LINES[2]]);
    assert.deepEqual(await json('--user', 'bob@example.com', '--server', 'fs'), [LINES[1]]);
  });

  it('--json prints each line written anew: raw controls, bidi overrides and duplicate keys never pass through', async (t) => {
    const file = auditFile(t);
    // Written by something other than the daemon: raw RLO, C1 NEL, LINE SEPARATOR, an isolate, and a second "user".
    const hostile = `{"seq":4,"ts":"${at(500)}","event":"denied","user":"mallory","tool":"a\u202eb\u0085c\u2028d\u2067e","user":"carol@example.com"}`;
    appendFileSync(file, `${hostile}\n`);
    const out = await gatekit(['audit', 'tail', file, '--json', '--user', 'carol@example.com']);
    assert.equal(out.code, 0, out.stderr);
    const printed = out.stdout.trimEnd();
    assert.equal(
      printed,
      `{"seq":4,"ts":"${at(500)}","event":"denied","user":"carol@example.com","tool":"a\\u202eb\\u0085c\\u2028d\\u2067e"}`,
    );
    assert.ok(!/[\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(printed));
    assert.equal(JSON.parse(printed).tool, 'a\u202eb\u0085c\u2028d\u2067e', 'the same value, escaped');
  });

  it('the table shows bidi controls, separators and C1 controls as "?"', () => {
    const line = JSON.stringify({
      ts: at(0),
      event: 'denied',
      user: 'eve\u202egro.elpmaxe@',
      tool: 'x\u2066y\u200fz\u0085',
    });
    const row = formatAuditLine(line, { json: false, follow: false, color: false })!;
    assert.match(row, /eve\?gro\.elpmaxe@ /);
    assert.match(row, /x\?y\?z\? /);
    assert.ok(!/[\u0080-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(row));
  });

  it('a line that is JSON but not an object is shown as unreadable, not a crash', () => {
    const options = { json: false, follow: false, color: false };
    assert.equal(formatAuditLine('null', options)?.trimEnd(), '? null');
    assert.equal(formatAuditLine('[1]', { ...options, json: true }), undefined);
  });

  it('refuses a --since that is neither a duration nor a time (exit 2), and a missing file (exit 1)', async (t) => {
    const file = auditFile(t);
    assert.equal((await gatekit(['audit', 'tail', file, '--since', 'yesterday'])).code, 2);
    assert.equal((await gatekit(['audit', 'tail', `${file}.missing`])).code, 1);
  });

  it('colours the outcome only when asked (a terminal without NO_COLOR)', () => {
    const options = { json: false, follow: false };
    assert.match(formatAuditLine(LINES[0]!, { ...options, color: true })!, /\u001b\[32mok/);
    assert.ok(!formatAuditLine(LINES[0]!, { ...options, color: false })!.includes('\u001b'));
  });

  it('--follow prints lines appended after it started', async (t) => {
    const file = auditFile(t);
    const child = spawnGatekit(['audit', 'tail', '--follow', '--json', '--user', 'carol@example.com', file]);
    t.after(() => {
      child.kill('SIGKILL');
    });
    let stdout = '';
    const seen = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (stdout.includes(text)) {
            child.stdout!.off('data', check);
            resolve();
          }
        };
        child.stdout!.on('data', check);
        check();
      });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    // The first line may land before the watch starts (then the first read shows it); the second is
    // appended only once the first is on screen, so it can only arrive by following.
    const line = JSON.stringify({
      seq: 4,
      prev: 'sha256:w',
      ts: new Date().toISOString(),
      event: 'request',
      user: 'carol@example.com',
      tool: 'followed',
    });
    appendFileSync(file, `${line}\n`);
    await seen('"followed"');
    const second = line.replace('followed', 'followed-again');
    appendFileSync(file, `${second}\n`);
    await seen('followed-again');
    assert.deepEqual(stdout.trimEnd().split('\n'), [line, second]);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  });
});
