import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { GatekitError } from '../errors.js';

const POLL_MS = 25;
const held = new Map<string, string>();
process.on('exit', () => {
  for (const [path, text] of held) releaseIfOurs(path, text);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function releaseIfOurs(path: string, text: string): void {
  held.delete(path);
  if (readText(path) === text) rmSync(path, { force: true });
}

/**
 * Creates the lock file with its content in one step: written under a private name, then
 * hard-linked into place (which fails if the lock exists). No one ever sees a half-written lock.
 */
function tryCreate(path: string, text: string): boolean {
  const temp = `${path}.${randomBytes(6).toString('hex')}.new`;
  writeFileSync(temp, text, { mode: 0o600 });
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Removes a lock whose owner died, without removing one a faster process just took over. */
function takeOverStale(path: string, seen: string): void {
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  if (readText(aside) !== seen) {
    try {
      linkSync(aside, path);
    } catch {
      /* someone holds it anew; they win */
    }
  }
  rmSync(aside, { force: true });
}

function isStale(text: string, path: string): boolean {
  const pid = Number.parseInt(text, 10);
  if (!(pid > 0)) return true;
  return pid === process.pid ? !held.has(path) : !isAlive(pid);
}

export interface LockOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onWait?: (() => void) | undefined;
  /** Called on every poll while waiting; may throw to stop waiting (e.g. a login elsewhere has a code to show). */
  readonly onPoll?: (() => void) | undefined;
  /** Stop waiting after this long with LOGIN_REQUIRED (no person to wait for); default: as long as it takes. */
  readonly timeoutMs?: number | undefined;
}

/**
 * A cross-process mutex: a file holding the owner's pid. Waiters poll until it is released; a
 * lock left by a process that no longer exists is taken over. Returns the release.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<() => void> {
  const mine = `${process.pid}\n${new Date().toISOString()}\n${randomBytes(8).toString('hex')}\n`;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let warned = false;
  for (;;) {
    if (tryCreate(path, mine)) {
      held.set(path, mine);
      return () => releaseIfOurs(path, mine);
    }
    const owner = readText(path);
    if (owner === undefined) continue;
    if (isStale(owner, path)) {
      takeOverStale(path, owner);
      continue;
    }
    if (!warned) {
      warned = true;
      options.onWait?.();
    }
    if (options.signal?.aborted)
      throw new GatekitError('INTERRUPTED', 'interrupted while waiting for another gatekit login');
    options.onPoll?.();
    if (Date.now() >= deadline) {
      throw new GatekitError('LOGIN_REQUIRED', 'a login is in progress elsewhere (another process holds its lock)', {
        hint: 'finish that login (or end that process), then run this again',
      });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
