import { closeSync, constants, fchmodSync, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { GatekitError } from '../errors.js';

const { O_RDWR, O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Opens the audit file for appending ("-" is stdout, fd 1): never through a symbolic link, only a regular file,
 * created with `mode` (0600, or 0640 with a group) whatever the umask, owned by the daemon's user (or root), and
 * writable by nobody else, in a directory others cannot write. A failure is CONFIG_INVALID naming the path.
 */
export function openAuditFile(path: string, mode: number): number {
  if (path === '-') return 1;
  // O_NONBLOCK: a FIFO planted at the path must not hang the daemon; it is refused below.
  const flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK;
  let fd: number;
  try {
    try {
      fd = openSync(path, flags | O_CREAT | O_EXCL, mode);
      fchmodSync(fd, mode); // the umask must not decide who reads the audit log
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      fd = openSync(path, flags);
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'it is a symbolic link, which Gatekit never follows' : code;
    throw new GatekitError('CONFIG_INVALID', `cannot open the audit log ${path}: ${why}`, {
      hint:
        code === 'ELOOP'
          ? 'point [daemon] audit_log at the real file, or remove the link'
          : 'check [daemon] audit_log and that its directory exists and is writable',
      cause,
    });
  }
  const st = fstatSync(fd);
  const refusal = !st.isFile() ? 'not a regular file' : (untrustedFile(st) ?? untrustedDir(dirname(path)));
  if (refusal) {
    closeSync(fd);
    throw new GatekitError('CONFIG_INVALID', `cannot open the audit log ${path}: ${refusal}`, {
      hint: !st.isFile()
        ? 'point [daemon] audit_log at a regular file'
        : "the audit log and its directory must be the daemon user's (or root's), writable by nobody else",
    });
  }
  return fd;
}

const mine = (uid: number): boolean => uid === process.getuid?.() || uid === 0 || process.getuid === undefined;
const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** Another user who owns or may write the log can rewrite what it says (at start, on SIGHUP, on recreate). */
function untrustedFile(st: Stats): string | undefined {
  if (!mine(st.uid)) return `it is owned by uid ${st.uid}, not by the daemon's user`;
  if ((st.mode & 0o022) !== 0) return `it is writable by group or others (mode ${octal(st.mode)})`;
  return undefined;
}

/** Whoever may write the directory can replace the log, sticky bit or not (they can create its name first). */
function untrustedDir(dir: string): string | undefined {
  let st: Stats;
  try {
    st = statSync(dir);
  } catch {
    return undefined;
  }
  if (!mine(st.uid)) return `its directory ${dir} is owned by uid ${st.uid}, not by the daemon's user`;
  if ((st.mode & 0o002) !== 0) return `its directory ${dir} is writable by others (mode ${octal(st.mode)})`;
  return undefined;
}

/** Does `path` now name another file than the open `fd` (a rotation), or nothing we may open? */
export function isRotated(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = openSync(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      return fstatSync(named).ino !== open.ino;
    } finally {
      closeSync(named);
    }
  } catch {
    return true;
  }
}
