import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where login state lives: $GATEKIT_HOME, else $XDG_STATE_HOME/gatekit, else ~/.local/state/gatekit. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['GATEKIT_HOME']) return resolve(env['GATEKIT_HOME']);
  return join(env['XDG_STATE_HOME'] ? resolve(env['XDG_STATE_HOME']) : join(homedir(), '.local', 'state'), 'gatekit');
}

export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/** A config file's real path (symlinks resolved): the identity login state is bound to. */
export function configRealPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return resolve(file);
  }
}
