import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * Where Node keeps Gatekit's compiled code between runs (`module.enableCompileCache`): a 0700
 * directory of this user's, `$XDG_CACHE_HOME/gatekit/node-compile-cache` (else `~/.cache/…`), never
 * Node's default, shared `/tmp/node-compile-cache`, where another user could plant code. Undefined
 * (no cache: slower, never unsafe) when it cannot be created, or it or `…/gatekit` is not this
 * user's own or is open to others.
 * @see https://nodejs.org/api/module.html#moduleenablecompilecachedirectory
 */
export function compileCacheDir(
  env: NodeJS.ProcessEnv,
  uid = process.getuid?.(),
  home = homedir(),
): string | undefined {
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG Base Directory spec: a relative $XDG_CACHE_HOME is invalid and ignored.
  const base = join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'gatekit');
  const dir = join(base, 'node-compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const path of [base, dir]) {
      const st = statSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) return undefined;
      if ((st.mode & 0o077) !== 0) chmodSync(path, 0o700);
    }
    return dir;
  } catch {
    return undefined;
  }
}
