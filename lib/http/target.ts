import type { Config, Listen } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { checkSocketOwner, resolveUid, type SocketOwners } from './socket-owner.js';
import { readTlsFiles, type TlsMaterial } from './tls.js';

/** Where a daemon listener is reached: its Unix socket, or loopback TCP with our client certificate (mTLS). */
export type HttpTarget =
  | { readonly kind: 'unix'; readonly path: string; readonly owners?: SocketOwners }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly tls: TlsMaterial };

/**
 * The target for a listen address of ours (`key` names it in errors, e.g. `daemon.token_listen`). A TCP address
 * needs `[daemon] client_tls`, read here once; a Unix socket needs nothing.
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2
 */
export function clientTarget(config: Config, at: Listen, key: string): HttpTarget {
  if (at.kind === 'unix') {
    const target = { kind: 'unix', path: at.path, owners: socketOwners(config) } as const;
    checkSocketOwner(target.path, target.owners, `${key} (${target.path})`);
    return target;
  }
  const files = config.daemon.client_tls;
  if (!files)
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: ${key} listens on TCP (mTLS) but [daemon] client_tls is not set`,
      {
        hint: 'add client_tls = { ca, cert, key } under [daemon] and run "gatekit init"',
      },
    );
  return { kind: 'tcp', host: at.host, port: at.port, tls: readTlsFiles(files, config.file, 'daemon.client_tls') };
}

/** `[daemon] socket_owner` as uids: the account a shared daemon runs as, besides the user and root. */
function socketOwners(config: Config): SocketOwners {
  const name = config.daemon.socket_owner;
  if (name === undefined) return [];
  const uid = resolveUid(name);
  if (uid === undefined) {
    throw new GatekitError('CONFIG_INVALID', `${config.file}: "daemon.socket_owner" = "${name}" is no user here`, {
      hint: 'name the account the shared daemon runs as (a user name or uid)',
    });
  }
  return [uid];
}

/** The URL of `path` on the target; a Unix socket's host is `localhost` (what the daemon's Host check expects). */
export function targetUrl(target: HttpTarget, path: string): string {
  if (target.kind === 'unix') return `http://localhost${path}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `https://${host}:${target.port}${path}`;
}
