import { invocationFor } from './invocation.js';

/**
 * What the shipped bin (dist/bin/gatekit.cjs, made by scripts/build.mjs) does before it loads the
 * CLI: a plain `broker token` with a fresh cached token is printed here, and true is returned. The
 * build bundles this module's static graph into that one file; its budget is 1.5× `node -e 0`.
 * Anything else — inside `gatekit exec` (whose agent holds the login), a cache miss, any problem —
 * returns false and the full CLI runs, taking over this run's invocation (nothing is resolved twice).
 */
export function answerFromCache(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out = (text: string) => {
    process.stdout.write(text);
  },
): boolean {
  const token = invocationFor(argv, env).cachedAnswer();
  if (!token) return false;
  out(token);
  return true;
}
