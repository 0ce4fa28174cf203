import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { GatekitError } from '../errors.js';
import { untrustedReason } from '../files.js';
import type { Config } from './types.js';

/**
 * Refuses a config that someone else could have written or swapped: the file itself must be the
 * user's (or root's) and not writable by group or others; its directory, the key-set directories
 * must not be writable by others (unless sticky, like /tmp); the Unix-socket directories not even when sticky.
 * Whoever can write these decides where Gatekit sends tokens and which keys it trusts.
 */
export function checkConfigTrust(config: Config): Config {
  const refuse = (what: string, reason: string, fix: string): never => {
    throw new GatekitError('CONFIG_INVALID', `${config.file}: refusing ${what}: ${reason}`, { hint: fix });
  };
  const owned = untrustedReason(config.file, 'owned');
  if (owned) refuse('the config file', owned, `make it yours: chown $USER ${config.file} && chmod go-w ${config.file}`);
  const dirs: Array<[string, string]> = [['the config directory', dirname(config.file)]];
  if (config.broker.signing_key) dirs.push(['the broker.signing_key directory', dirname(config.broker.signing_key)]);
  const trusted = config.daemon.trusted_keys;
  if (!/^https?:\/\//.test(trusted)) {
    const reason = untrustedReason(trusted, 'owned');
    if (reason) refuse('daemon.trusted_keys', reason, `run: chmod go-w ${trusted}`);
    dirs.push(['the daemon.trusted_keys directory', dirname(trusted)]);
  }
  const socketDirs: Array<[string, string]> = [];
  for (const server of config.servers.values()) {
    if (server.listen.kind !== 'unix') continue;
    socketDirs.push([`the servers.${server.name}.listen directory`, dirname(server.listen.path)]);
  }
  const tokenListen = config.daemon.token_listen;
  if (tokenListen?.kind === 'unix') socketDirs.push(['the daemon.token_listen directory', dirname(tokenListen.path)]);
  // No credential goes there, but whoever binds it first feeds the team's alerts and keeps the daemon from starting.
  const metricsListen = config.daemon.metrics_listen;
  if (metricsListen?.kind === 'unix')
    socketDirs.push(['the daemon.metrics_listen directory', dirname(metricsListen.path)]);
  for (const [what, dir] of dirs) {
    const reason = untrustedReason(dir, 'shared-dir');
    if (reason) refuse(what, reason, `run: chmod o-w ${dir} (or chmod +t ${dir})`);
  }
  // A socket path is bound by whoever comes first: in a directory others can write, sticky or not
  // (/tmp), another user binds it while the daemon is down and receives the credentials.
  for (const [what, dir] of socketDirs) {
    const reason = worldWritable(dir);
    if (reason) refuse(what, reason, `put the socket in a directory others cannot write (chmod o-w ${dir})`);
  }
  return config;
}

function worldWritable(dir: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(dir).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o002) === 0) return undefined;
  const shown = (mode & 0o7777).toString(8).padStart(4, '0');
  return `${dir} is writable by others (mode ${shown}), where anyone can bind the socket first, sticky bit or not`;
}
