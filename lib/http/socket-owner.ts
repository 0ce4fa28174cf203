import { lstatSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { GatekitError } from '../errors.js';

/**
 * Who may own a Unix socket a client of ours sends a credential to: the current user, root, and the
 * account of a shared daemon (`[daemon] socket_owner`, a user name or uid), resolved to uids.
 */
export type SocketOwners = readonly number[];

/** The uid of a user name (or a decimal uid): /etc/passwd, then `id -u` for directory-service accounts. */
export function resolveUid(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid] = line.split(':');
      if (user === name && uid && /^\d+$/.test(uid)) return Number(uid);
    }
  } catch {
    /* no /etc/passwd: ask id */
  }
  const id = process.getBuiltinModule('node:child_process').spawnSync('id', ['-u', '--', name], {
    encoding: 'utf8',
    timeout: 5000,
  });
  const out = id.status === 0 ? id.stdout.trim() : '';
  return /^\d+$/.test(out) ? Number(out) : undefined;
}

/**
 * Refuses, before anything is sent, a Unix socket someone else could be listening on: the path must be a
 * socket (never followed through a link) owned by one of `owners` (always the current user and root), in a
 * directory that is not writable by others — sticky bit or not, since whoever can create a name there can
 * bind the path first, while the daemon is down. A missing socket is left to the connection to report.
 */
export function checkSocketOwner(path: string, owners: SocketOwners, peer: string): void {
  const me = process.getuid?.();
  if (me === undefined) return;
  const allowed = new Set([me, 0, ...owners]);
  const refuse = (reason: string, hint: string): never => {
    throw new GatekitError('CONFIG_INVALID', `refusing to send a credential to ${peer}: ${reason}`, { hint });
  };
  const dir = dirname(path);
  let dirStat: Stats;
  try {
    dirStat = statSync(dir);
  } catch {
    return;
  }
  if ((dirStat.mode & 0o002) !== 0) {
    const mode = (dirStat.mode & 0o7777).toString(8).padStart(4, '0');
    refuse(
      `its directory ${dir} is writable by others (mode ${mode}), where anyone can bind the socket first`,
      `put the socket in a directory only the daemon's user can write (chmod o-w ${dir})`,
    );
  }
  if (!allowed.has(dirStat.uid)) {
    refuse(
      `its directory ${dir} is owned by uid ${dirStat.uid}, not by you, root or [daemon] socket_owner`,
      'a shared daemon names its account in [daemon] socket_owner',
    );
  }
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) refuse(`${path} is not a socket`, `remove ${path} and restart the daemon`);
  if (!allowed.has(st.uid)) {
    refuse(
      `${path} is owned by uid ${st.uid}, not by you (${me}), root or [daemon] socket_owner`,
      'someone else may have bound the path first; a shared daemon names its account in [daemon] socket_owner',
    );
  }
}
