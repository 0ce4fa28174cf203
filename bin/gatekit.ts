#!/usr/bin/env node
import module from 'node:module';

// Node 22+ keeps compiled code between runs (a no-op on Node 20): `broker token` runs in loops.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { main } = await import('../lib/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
