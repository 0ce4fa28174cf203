// What `npm run build` reads: tsc's `include` folders, its config, the bundler script and the locked
// dependency versions (the bundle carries smol-toml). `npm run build` records their hash in dist/;
// `prepare` (run by `npm install` and by the first `npx gatekit` in a checkout) rebuilds only when it
// differs, so a checkout that is already built answers at once (README "Quickstart").
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FOLDERS = ['bin', 'lib', 'test', 'fixtures', 'bench'];
const FILES = ['tsconfig.json', 'package.json', 'package-lock.json', 'scripts/build.mjs', 'scripts/build-inputs.mjs'];
/** Written last by scripts/build.mjs: the hash of the inputs that build used. */
export const STAMP = join(ROOT, 'dist', '.build-inputs');
/** What the bin needs; a build that left any of them out is not current. */
const OUTPUTS = ['dist/bin/gatekit.cjs', 'dist/bin/gatekit.js', 'dist/lib/cli/main.js'];

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

/** sha256 over every input's path and contents, in a fixed order. */
export function inputsHash() {
  const files = [...FOLDERS.flatMap((f) => listFiles(join(ROOT, f))), ...FILES.map((f) => join(ROOT, f))]
    .filter((f) => existsSync(f))
    .map((f) => relative(ROOT, f).split('\\').join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(ROOT, file)))
      .update('\0');
  return hash.digest('hex');
}

/** dist/ was built from exactly these inputs and has the bin's files. */
export function distIsCurrent() {
  if (!OUTPUTS.every((f) => existsSync(join(ROOT, f))) || !existsSync(STAMP)) return false;
  return readFileSync(STAMP, 'utf8').trim() === inputsHash();
}
