import { parseDuration } from '../config/index.js';
import { TOKEN_FORMATS, type TokenFormat } from './options.js';

export const DEFAULT_MIN_TTL = 60;

export interface PlainTokenArgs {
  readonly resource: string;
  readonly format: TokenFormat;
  readonly minTtl: number;
  readonly config?: string | undefined;
}

/**
 * Recognises the plain `broker token --resource NAME [--format F] [--min-ttl D] [--config P]`
 * without yargs; anything else (help, typos, other commands) is left to the full CLI.
 */
export function plainTokenArgs(argv: readonly string[]): PlainTokenArgs | undefined {
  if (argv[0] !== 'broker' || argv[1] !== 'token') return undefined;
  const opts: Record<string, string> = {};
  for (let i = 2; i < argv.length; i++) {
    const m = /^--(resource|format|min-ttl|config)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) return undefined;
    const value = m[2] ?? argv[++i];
    if (value === undefined || opts[m[1]!] !== undefined) return undefined;
    opts[m[1]!] = value;
  }
  const format = (opts['format'] ?? 'raw') as TokenFormat;
  const minTtl = opts['min-ttl'] === undefined ? DEFAULT_MIN_TTL : parseDuration(opts['min-ttl']);
  if (!opts['resource'] || !TOKEN_FORMATS.includes(format) || minTtl === undefined) return undefined;
  return { resource: opts['resource'], format, minTtl, config: opts['config'] };
}
