import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync, readFileSync, chmodSync, statSync, type Stats } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * Writes a file so that readers see the old content or the new, never half of it: a temp file
 * beside the target (created with `mode`, so a secret is never briefly world-readable), then rename.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Creates a directory (and parents) that only its owner can enter. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** Reads a JSON file; undefined when it does not exist or is not valid JSON (a torn cache is a miss). */
export function readJsonFile<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * Why `path` cannot be trusted to hold what only this user may write, or undefined when it can (or
 * does not exist). `owned`: owned by this user (or root) and not writable by group or others.
 * `shared-dir`: a directory others cannot write, unless it has the sticky bit (like /tmp), where
 * they cannot rename or delete what is ours.
 */
export function untrustedReason(path: string, kind: 'owned' | 'shared-dir'): string | undefined {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (kind === 'owned') {
    const uid = process.getuid?.();
    const isOurs = uid === undefined || st.uid === uid || st.uid === 0;
    if (!isOurs) return `${path} is owned by uid ${st.uid}, not by you (${uid})`;
    const who = st.mode & 0o002 ? 'others' : 'its group';
    if ((st.mode & 0o022) !== 0) return `${path} is writable by ${who} (mode ${mode})`;
    return undefined;
  }
  if (st.isDirectory() && (st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    return `${path} is writable by others without the sticky bit (mode ${mode})`;
  }
  return undefined;
}
