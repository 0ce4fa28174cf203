import { readdirSync, readFileSync } from 'node:fs';

/**
 * How long a child's process group has between SIGTERM and SIGKILL, at a session's end, an eviction, a
 * child's exit and a daemon stop. A stop therefore ends within `drain_timeout` plus this grace (stopBoundMs).
 */
const KILL_GRACE_MS = 2000;
/** After SIGKILL, how long to wait for the group to be gone before giving up on it. */
const KILL_WAIT_MS = 1000;
/** What a stop allows itself past drain_timeout + KILL_GRACE_MS + KILL_WAIT_MS for its last bookkeeping. */
const STOP_MARGIN_MS = 1000;

/** The most a daemon's stop takes, in milliseconds: `gatekit daemon` exits when it is past, stopped or not. */
export function stopBoundMs(drainTimeoutSeconds: number): number {
  return drainTimeoutSeconds * 1000 + KILL_GRACE_MS + KILL_WAIT_MS + STOP_MARGIN_MS;
}
const POLL_MS = 50;

/**
 * Whether process group `pgid` still has a running member. A zombie is not running: an orphan reparented to
 * an init that does not reap keeps its group id as a zombie forever, and would otherwise keep every stop
 * waiting for its whole grace.
 */
function groupRunning(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return runningMembers(pgid) !== 0;
}

/** Running (non-zombie) members of `pgid` from /proc; -1 where there is no /proc to read (then: assume some). */
function runningMembers(pgid: number): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return -1;
  }
  let count = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') count++;
  }
  return count;
}

/** Signals the whole group; false once it is gone (ESRCH), so a recycled id is never signalled. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function gone(running: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  return new Promise((resolve) => {
    const check = () => {
      if (!running()) return resolve(true);
      if (Date.now() >= deadline) return resolve(false);
      setTimeout(check, POLL_MS);
    };
    check();
  });
}

/** What endGroup needs of a child's cgroup (lib/daemon/cgroup.ts). */
export interface TreeCgroup {
  populated(): boolean;
  kill(): void;
  remove(): boolean;
}

/**
 * Ends process group `pgid` (a child started with `detached: true` leads its own): SIGTERM to every member,
 * then SIGKILL after `graceMs` to whatever is still running — even when its leader has long exited, a
 * grandchild that ignores SIGTERM or keeps a timer is ended with it. With the child's `cgroup`, the SIGKILL
 * is the cgroup's (cgroup.kill), so a grandchild that called setsid() or double-forked out of the group ends
 * too, and the cgroup is removed. Resolves false when something still runs after the SIGKILL wait (it cannot
 * happen to a running process, short of an uninterruptible sleep). Without a cgroup, a grandchild that left
 * the group is not reached (docs/security.md).
 */
export async function endGroup(pgid: number, cgroup?: TreeCgroup, graceMs = KILL_GRACE_MS): Promise<boolean> {
  const running = cgroup ? () => cgroup.populated() || groupRunning(pgid) : () => groupRunning(pgid);
  const ended = (done: boolean) => (cgroup ? cgroup.remove() && done : done);
  if (!signalGroup(pgid, 'SIGTERM') && !cgroup?.populated()) return ended(true);
  if (await gone(running, graceMs)) return ended(true);
  signalGroup(pgid, 'SIGKILL');
  cgroup?.kill();
  return ended(await gone(running, KILL_WAIT_MS));
}
