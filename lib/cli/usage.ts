import { readFileSync } from 'node:fs';
import { GatekitError } from '../errors.js';

/** This package's version, from its package.json (dist/lib/cli → the package root). */
export function packageVersion(): string {
  const file = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const DID_YOU_MEAN = /^Did you mean (.+)\?$/;
const UNKNOWN = /^Unknown arguments?: (.+)$/;

/**
 * yargs' usage failure as one GatekitError: a command it does not know is named as unknown first, then
 * its guess ("Did you mean broker?" alone does not say that "brokr" is not a command).
 */
export function usageError(message: string | undefined, argv: readonly string[]): GatekitError {
  const hint = 'run "gatekit --help" for the commands, or "gatekit COMMAND --help" for one';
  const words = argv.filter((a) => !a.startsWith('-'));
  const guess = DID_YOU_MEAN.exec(message ?? '')?.[1];
  if (guess) {
    const word = words.find((w) => w !== guess && editDistance(w, guess) <= 3) ?? '?';
    return new GatekitError('USAGE', `unknown command "${word}" (did you mean "${guess}"?)`, { hint });
  }
  const unknown = UNKNOWN.exec(message ?? '')?.[1]?.split(', ');
  if (unknown) {
    const commands = unknown.filter((u) => words.includes(u));
    if (commands.length) return new GatekitError('USAGE', `unknown command "${commands.join(' ')}"`, { hint });
    const flags = unknown.map((u) => (u.length === 1 ? `-${u}` : `--${u}`));
    return new GatekitError('USAGE', `unknown option${flags.length > 1 ? 's' : ''} ${flags.join(', ')}`, { hint });
  }
  return new GatekitError('USAGE', message ?? 'bad usage', { hint });
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
