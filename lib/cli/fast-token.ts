import { loadConfig } from '../config/index.js';
import { brokerContext, cachedToken } from '../broker/index.js';
import { TOKEN_FORMATS, type TokenFormat } from './options.js';
import { parseDuration } from '../config/index.js';
import { formatToken } from './token-output.js';

export const DEFAULT_MIN_TTL = 60;

/**
 * `gatekit broker token` with a fresh cached token, answered without loading yargs, jose or any
 * HTTP code: scripts call it in loops, and the budget is 1.5× `node -e 0`. Returns undefined when
 * the arguments are anything but the plain form or the cache misses; the full CLI takes over then
 * (and reports any error properly).
 */
export function fastBrokerToken(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  if (argv[0] !== 'broker' || argv[1] !== 'token') return undefined;
  const opts: Record<string, string> = {};
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(resource|format|min-ttl|config)(?:=(.*))?$/.exec(arg);
    if (!m) return undefined;
    const value = m[2] ?? argv[++i];
    if (value === undefined || opts[m[1]!] !== undefined) return undefined;
    opts[m[1]!] = value;
  }
  const format = (opts['format'] ?? 'raw') as TokenFormat;
  const minTtl = opts['min-ttl'] === undefined ? DEFAULT_MIN_TTL : parseDuration(opts['min-ttl']);
  if (!opts['resource'] || !TOKEN_FORMATS.includes(format) || minTtl === undefined) return undefined;
  try {
    const ctx = brokerContext(loadConfig({ config: opts['config'], env }), env);
    const token = cachedToken(ctx, opts['resource'], minTtl);
    return token ? formatToken(token, format) : undefined;
  } catch {
    return undefined;
  }
}
