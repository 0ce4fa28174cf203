import { dirname } from 'node:path';
import { GatekitError } from '../errors.js';
import { untrustedReason } from '../files.js';
import type { Config } from './types.js';

/**
 * Refuses a config that someone else could have written or swapped: the file itself must be the
 * user's (or root's) and not writable by group or others; its directory, the key-set directories
 * and the Unix-socket directories must not be writable by others (unless sticky, like /tmp).
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
  for (const server of config.servers.values()) {
    if (server.listen.kind !== 'unix') continue;
    dirs.push([`the servers.${server.name}.listen directory`, dirname(server.listen.path)]);
  }
  const tokenListen = config.daemon.token_listen;
  if (tokenListen?.kind === 'unix') dirs.push(['the daemon.token_listen directory', dirname(tokenListen.path)]);
  for (const [what, dir] of dirs) {
    const reason = untrustedReason(dir, 'shared-dir');
    if (reason) refuse(what, reason, `run: chmod o-w ${dir} (or chmod +t ${dir})`);
  }
  return config;
}
