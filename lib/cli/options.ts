import { parseDuration } from '../config/index.js';
import { GatekitError } from '../errors.js';

export function durationOption(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const seconds = parseDuration(value);
  if (seconds === undefined)
    throw new GatekitError('USAGE', `--${name} must be a duration like "30s" or "2m"; got "${value}"`);
  return seconds;
}

export const TOKEN_FORMATS = ['raw', 'json', 'env', 'headers'] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];
