import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';

/**
 * "Another local user" for tests: the uid/gid of `nobody`. The suite runs as root, where permission
 * bits stop nothing, so a promise about another user is only tested when the attacker really is one.
 * When the suite is not root (it cannot switch uid), the test is skipped loudly, never passed.
 */
export interface OtherUser {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

const NOBODY = 65534;

/** The other user, or why there is none (a skip reason). */
export function otherUser(): OtherUser | string {
  if (process.getuid?.() !== 0) {
    return `needs root to run the attacker as another uid (nobody, ${NOBODY}); running as uid ${process.getuid?.()}`;
  }
  const id = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const uid = id.status === 0 ? Number(id.stdout.trim()) : NOBODY;
  const gidOut = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' });
  const gid = gidOut.status === 0 ? Number(gidOut.stdout.trim()) : NOBODY;
  if (!Number.isInteger(uid) || uid === 0) return 'no unprivileged "nobody" account on this machine';
  return { uid, gid, name: 'nobody' };
}

/**
 * The other user for this test, or undefined after calling `t.skip` with a loud reason (also printed
 * to stderr, so a run that skips these tests says so). The caller returns at once on undefined.
 */
export function skipUnlessOtherUser(t: TestContext): OtherUser | undefined {
  const user = otherUser();
  if (typeof user !== 'string') return user;
  const reason = `SKIPPED (another-user test, not passed): ${user}`;
  process.stderr.write(`# ${t.name}: ${reason}\n`);
  t.skip(reason);
  return undefined;
}

/** Like `skipUnlessOtherUser`, for tests that need root for other reasons (chown). */
export function skipUnlessRoot(t: TestContext, why = 'chown to another uid'): boolean {
  if (process.getuid?.() === 0) return true;
  const reason = `SKIPPED (needs root to ${why}; not passed)`;
  process.stderr.write(`# ${t.name}: ${reason}\n`);
  t.skip(reason);
  return false;
}

/**
 * A temp directory the other user can enter and read (0755) — or, with `shared`, write too, like
 * /tmp (01777). Removed in `t.after`.
 */
export function reachableDir(t: TestContext, options: { shared?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-other-'));
  chmodSync(dir, options.shared ? 0o1777 : 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface OtherUserResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function spawnAs(user: OtherUser, script: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    // Nothing of ours: no HOME, no GATEKIT_* of the test.
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Runs an ES module `script` (source text, so the other user needs no access to our files) as the
 * other user and collects its output. Bounded by `timeoutMs` (then SIGKILL).
 */
export function runAsOtherUser(
  user: OtherUser,
  script: string,
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<OtherUserResult> {
  const child = spawnAs(user, script, args, options.env ?? {});
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running process of the other user (e.g. a server squatting on a path or port). */
export interface OtherUserProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: readonly string[];
  /** Resolves with the first stdout line (past or future) matching `pattern`; bounded. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * Starts `script` as the other user; it ends (SIGKILL) in `t.after`. The script talks back by
 * printing lines on stdout, e.g. "ready" once it listens and one line per thing it received.
 */
export function startAsOtherUser(
  t: TestContext,
  user: OtherUser,
  script: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): OtherUserProcess {
  const child = spawnAs(user, script, args, env);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
    for (const wake of waiters) wake();
  });
  t.after(() => {
    if (!exited) child.kill('SIGKILL');
  });
  return {
    child,
    lines,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.find((l) => pattern.test(l));
          if (found !== undefined) {
            done();
            resolve(found);
            return true;
          }
          if (exited) {
            done();
            reject(new Error(`the other user's process exited before ${pattern}; stderr:\n${stderr}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern} from the other user's process; stderr:\n${stderr}`));
        }, timeoutMs);
        const wake = (): void => void check();
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        if (!check()) waiters.add(wake);
      });
    },
  };
}
