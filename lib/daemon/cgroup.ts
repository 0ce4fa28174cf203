import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The wrapper every child starts as: it moves itself into its cgroup, then execs the server (same pid, same
 * process group), so nothing the server starts can run outside the cgroup — no window between spawn and move.
 * $0 is the cgroup.procs path; "$@" the server's command.
 */
const WRAPPER = 'echo $$ > "$0" && exec "$@"';
/** What a shell adds to the environment it passes on (dash: PWD; bash: PWD, SHLVL), unless configured. */
const SHELL_ADDS = ['PWD', 'OLDPWD', 'SHLVL'];
const SH = '/bin/sh';

/** Where this process's own cgroup v2 directory is mounted (a hybrid layout's /sys/fs/cgroup/unified too). */
function ownCgroupDir(): string | undefined {
  let mountinfo: string;
  let own: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))!
      .slice(3);
  } catch {
    return undefined;
  }
  if (own === undefined) return undefined;
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options … - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (!right?.startsWith('cgroup2 ')) continue;
    const [, , , root, mountpoint] = left!.split(' ');
    if (root === undefined || mountpoint === undefined) continue;
    if (root !== '/' && own !== root && !own.startsWith(`${root}/`)) continue;
    const rest = root === '/' ? own : own.slice(root.length);
    return join(mountpoint.replace(/\\040/g, ' '), rest);
  }
  return undefined;
}

/** One child's cgroup: the wrapper that puts it there, and its end. */
export class ChildCgroup {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The command that starts `command` with `env` inside this cgroup (see WRAPPER); the shell adds no variable. */
  wrap(command: readonly string[], env: Readonly<Record<string, string>> = {}): [string, string[]] {
    const added = SHELL_ADDS.filter((name) => env[name] === undefined);
    const script = `unset ${added.join(' ')}; ${WRAPPER}`;
    return [SH, ['-c', added.length ? script : WRAPPER, join(this.dir, 'cgroup.procs'), ...command]];
  }

  /** Whether any process still runs in it (cgroup.events; a zombie does not count). */
  populated(): boolean {
    try {
      return /^populated 1$/m.test(readFileSync(join(this.dir, 'cgroup.events'), 'utf8'));
    } catch {
      return false;
    }
  }

  /** SIGKILL to every process in it, whatever its session or group: cgroup.kill, else each pid listed. */
  kill(): void {
    try {
      writeFileSync(join(this.dir, 'cgroup.kill'), '1');
      return;
    } catch {
      // before Linux 5.14: no cgroup.kill
    }
    try {
      for (const pid of readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    } catch {
      // the cgroup is gone
    }
  }

  /** Removes the (empty) cgroup; false while something still runs in it. */
  remove(): boolean {
    try {
      rmdirSync(this.dir);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }
}

/**
 * The daemon's own cgroup v2 directory (`gatekit-<pid>-<n>` under its cgroup), one sub-cgroup per child: a
 * child's end is then the end of everything it started, a grandchild that called setsid() or double-forked
 * included. Opened only where cgroup v2 is delegated to us (root, or a systemd `Delegate=yes` unit) — checked by
 * moving a real process in, as every child will be.
 */
export class ChildCgroups {
  readonly dir: string;
  #next = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** The daemon's cgroups, or why there are none (then children are held by their process group only). */
  static open(): ChildCgroups | string {
    const own = ownCgroupDir();
    if (own === undefined) return 'no cgroup v2 is mounted';
    // The first free `gatekit-<pid>-<n>`: another daemon in this process may hold a lower n (nothing counts them).
    let dir: string;
    for (let n = 0; ; n++) {
      dir = join(own, `gatekit-${process.pid}-${n}`);
      try {
        mkdirSync(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
          return `cannot create ${dir} (${(err as NodeJS.ErrnoException).code})`;
      }
    }
    const cgroups = new ChildCgroups(dir);
    const probe = cgroups.create();
    const [file, args] = probe.wrap(['true']);
    const moved = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    probe.remove();
    if (moved.status !== 0) {
      cgroups.close();
      return `cannot move a process into ${dir}: ${(moved.stderr ?? '').trim() || moved.error?.message}`;
    }
    return cgroups;
  }

  /** A new, empty cgroup for one child. */
  create(): ChildCgroup {
    const dir = join(this.dir, `c${this.#next++}`);
    mkdirSync(dir);
    return new ChildCgroup(dir);
  }

  /** At the daemon's stop: ends whatever is left in its cgroups and removes them; false if one stays. */
  close(): boolean {
    let entries: string[] = [];
    try {
      entries = readdirSync(this.dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return true;
    }
    for (const name of entries) {
      const child = new ChildCgroup(join(this.dir, name));
      if (child.populated()) child.kill();
      child.remove();
    }
    try {
      rmdirSync(this.dir);
      return true;
    } catch {
      return false;
    }
  }
}

/** Why this process cannot hold its children in cgroups, or undefined when it can (doctor, tests). */
export function cgroupsUnavailable(): string | undefined {
  const opened = ChildCgroups.open();
  if (typeof opened === 'string') return opened;
  opened.close();
  return undefined;
}
