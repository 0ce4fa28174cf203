import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { GatekitError } from '../errors.js';

const POLL_MS = 25;
const held = new Set<string>();
process.on('exit', () => { for (const path of held) rmSync(path, { force: true }) });

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

function readOwner(path: string): { text: string; pid: number } | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    return { text, pid: Number.parseInt(text, 10) };
  } catch { return undefined }
}

/** Removes a lock whose owner died, without removing one a faster process just took over. */
function takeOverStale(path: string, seen: string): void {
  const aside = `${path}.${randomBytes(4).toString('hex')}.stale`;
  try { renameSync(path, aside) } catch { return }
  const moved = readOwner(aside);
  if (moved && moved.text !== seen) {
    try { linkSync(aside, path) } catch { /* someone holds it anew; they win */ }
  }
  rmSync(aside, { force: true });
}

export interface LockOptions { readonly signal?: AbortSignal | undefined; readonly onWait?: (() => void) | undefined }

/**
 * A cross-process mutex: a file created with O_EXCL holding the owner's pid. Waiters poll until it
 * is released; a lock left by a process that no longer exists is taken over. Returns the release.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<() => void> {
  let warned = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n${new Date().toISOString()}\n`);
      closeSync(fd);
      held.add(path);
      return () => { held.delete(path); rmSync(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(path);
    const isStale = owner !== undefined && (!(owner.pid > 0) || (owner.pid === process.pid ? !held.has(path) : !isAlive(owner.pid)));
    if (owner === undefined) continue;
    if (isStale) {
      takeOverStale(path, owner.text);
      continue;
    }
    if (!warned) { warned = true; options.onWait?.() }
    if (options.signal?.aborted) throw new GatekitError('INTERRUPTED', 'interrupted while waiting for another gatekit login');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
