#!/usr/bin/env node
import module from 'node:module';

// Node 22+ keeps compiled code between runs (absent on Node 20): `broker token` runs in loops. The
// directory is the user's own 0700 one, never Node's default shared /tmp/node-compile-cache.
const { enableCompileCache } = module as { enableCompileCache?: (directory?: string) => unknown };
if (enableCompileCache) {
  const dir = (await import('../lib/cli/compile-cache.js')).compileCacheDir(process.env);
  if (dir) enableCompileCache(dir);
}
const { main } = await import('../lib/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
