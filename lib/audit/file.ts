import { closeSync, constants, fchmodSync, fstatSync, openSync } from 'node:fs';
import { GatekitError } from '../errors.js';

const { O_RDWR, O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Opens the audit file for appending ("-" is stdout, fd 1): never through a symbolic link, only a regular file,
 * created with `mode` (0600, or 0640 with a group) whatever the umask. A failure is CONFIG_INVALID naming the path.
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
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new GatekitError('CONFIG_INVALID', `cannot open the audit log ${path}: not a regular file`, {
      hint: 'point [daemon] audit_log at a regular file',
    });
  }
  return fd;
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
