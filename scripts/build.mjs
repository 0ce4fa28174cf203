// The build after `tsc -p .`: joins dist/bin/gatekit.js and the cached-token path it imports
// (config, store, smol-toml) into that one file, so `gatekit broker token` with a fresh cached token
// reads one module (README "Start-up"). lib/cli/main.js stays outside it, with the whole CLI behind
// it: loaded only on a cache miss or any other command, from the same tsc output the tests import.
import { chmodSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('../dist/bin/gatekit.js', import.meta.url));
const LAZY_CLI = '../lib/cli/main.js';
// lib/config loads smol-toml's CommonJS build with createRequire (cheaper than its ESM graph unbundled);
// in the bundle a plain require lets esbuild inline that build instead of leaving a second file to read.
const CREATE_REQUIRE = /\bcreateRequire\(import\.meta\.url\)\(/g;

const keepCliLazy = {
  name: 'keep-cli-lazy',
  setup(b) {
    b.onResolve({ filter: /\/cli\/main\.js$/ }, (args) => {
      if (args.importer !== entry || args.path !== LAZY_CLI || args.kind !== 'dynamic-import') {
        throw new Error(`build: only bin/gatekit may import ${args.path}, lazily (from ${args.importer})`);
      }
      return { path: LAZY_CLI, external: true };
    });
    b.onLoad({ filter: /\/dist\/lib\/.*\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replace(CREATE_REQUIRE, 'require('), loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  plugins: [keepCliLazy],
});
const packages = Object.keys(result.metafile.inputs).filter((f) => f.includes('node_modules/'));
chmodSync(entry, 0o755);
const inputs = Object.keys(result.metafile.inputs);
console.log(`build: dist/bin/gatekit.js bundles ${inputs.length} modules (${packages.length} from node_modules)`);
