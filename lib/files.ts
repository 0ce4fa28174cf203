import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync, readFileSync, chmodSync } from 'node:fs';
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
  try { text = readFileSync(path, 'utf8') } catch { return undefined }
  try { return JSON.parse(text) as T } catch { return undefined }
}
