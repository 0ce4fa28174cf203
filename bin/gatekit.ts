#!/usr/bin/env node
import module from 'node:module';

// Node 22+ keeps compiled code between runs (a no-op on Node 20): `broker token` runs in loops.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
// The build bundles the cached-token path into this file (scripts/build.mjs); the full CLI loads only when needed.
const argv = process.argv.slice(2);
const { answerFromCache } = await import('../lib/cli/fast-path.js');
if (!answerFromCache(argv, process.env)) {
  const { main } = await import('../lib/cli/main.js');
  process.exitCode = await main(argv);
}
