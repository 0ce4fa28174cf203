import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GatekitError } from '../lib/errors.js';
import { acquireLock } from '../lib/store/lock.js';

const LOCK_MODULE = fileURLToPath(new URL('../lib/store/lock.js', import.meta.url));

/** A process that takes the lock ROUNDS times and logs entering and leaving its critical section. */
const WORKER = `
import { appendFileSync } from 'node:fs';
const { acquireLock } = await import(process.argv[1]);
const [, , lock, log, rounds] = process.argv;
for (let i = 0; i < Number(rounds); i++) {
  const release = await acquireLock(lock);
  appendFileSync(log, 'enter ' + process.pid + '\\n');
  await new Promise((r) => setTimeout(r, Math.random() * 3));
  appendFileSync(log, 'leave ' + process.pid + '\\n');
  release();
}`;

describe('cross-process lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('8 processes × 15 rounds: never two holders at once, nothing left behind', async () => {
    const lock = join(dir, 'a.lock');
    const log = join(dir, 'a.log');
    const workers = Array.from({ length: 8 }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', WORKER, LOCK_MODULE, lock, log, '15'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
    const codes = await Promise.all(workers.map((w) => new Promise((r) => w.on('close', r))));
    assert.deepEqual(codes, Array(8).fill(0));
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, 8 * 15 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, leave] = [lines[i]!, lines[i + 1]!];
      assert.match(enter, /^enter /, `line ${i}: ${enter}`);
      assert.equal(leave, enter.replace('enter', 'leave'), `overlapping holders at line ${i}`);
    }
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('a.lock')),
      [],
    );
  });

  it('a lock whose owner died is taken over; a live owner is waited for', async () => {
    const lock = join(dir, 'b.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(lock, `${dead.stdout}\n`);
    const release = await acquireLock(lock);
    assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${process.pid}\\n`));

    let bound: NodeJS.Timeout | undefined;
    let second!: Promise<() => void>;
    // The second taker says it waits on a live holder (this process); bounded, naming what it waited for.
    await new Promise<void>((resolve, reject) => {
      bound = setTimeout(() => reject(new Error('onWait for a live holder: not called within 20000 ms')), 20_000);
      second = acquireLock(lock, { onWait: () => resolve() });
    });
    clearTimeout(bound);
    release();
    (await second)();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('b.lock')),
      [],
    );
  });

  it('a bounded wait on a live holder ends with LOGIN_REQUIRED, and onPoll can end it at once', async () => {
    const lock = join(dir, 'd.lock');
    const release = await acquireLock(lock);
    try {
      await assert.rejects(acquireLock(lock, { timeoutMs: 50 }), (err: GatekitError) => err.code === 'LOGIN_REQUIRED');
      const stop = new GatekitError('LOGIN_REQUIRED', 'stop');
      await assert.rejects(
        acquireLock(lock, {
          onPoll: () => {
            throw stop;
          },
        }),
        (err) => err === stop,
      );
    } finally {
      release();
    }
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('d.lock')),
      [],
    );
  });

  it('releasing never removes a lock someone else holds now', async () => {
    const lock = join(dir, 'c.lock');
    const release = await acquireLock(lock);
    const other = `${process.ppid}\nsomeone else\n`;
    writeFileSync(lock, other);
    release();
    assert.equal(readFileSync(lock, 'utf8'), other);
    rmSync(lock);
  });
});
