import { fastBrokerToken, plainTokenArgs } from './fast-token.js';

/**
 * What the shipped bin (dist/bin/gatekit.cjs, made by scripts/build.mjs) does before it loads the
 * CLI: a plain `broker token` with a fresh cached token is printed here, and true is returned. The
 * build bundles this module's static graph into that one file. Anything else — inside `gatekit exec`
 * (whose agent holds the login), a cache miss, any problem — returns false and the full CLI runs.
 */
export function answerFromCache(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out = (text: string) => {
    process.stdout.write(text);
  },
): boolean {
  if (env['GATEKIT_AGENT']) return false;
  try {
    const plain = plainTokenArgs(argv);
    const token = plain && fastBrokerToken(plain, env);
    if (!token) return false;
    out(token);
    return true;
  } catch {
    return false;
  }
}
