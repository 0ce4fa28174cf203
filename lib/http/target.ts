import type { Config, Listen } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { readTlsFiles, type TlsMaterial } from './tls.js';

/** Where a daemon listener is reached: its Unix socket, or loopback TCP with our client certificate (mTLS). */
export type HttpTarget =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly tls: TlsMaterial };

/**
 * The target for a listen address of ours (`key` names it in errors, e.g. `daemon.token_listen`). A TCP address
 * needs `[daemon] client_tls`, read here once; a Unix socket needs nothing.
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2
 */
export function clientTarget(config: Config, at: Listen, key: string): HttpTarget {
  if (at.kind === 'unix') return { kind: 'unix', path: at.path };
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

/** The URL of `path` on the target; a Unix socket's host is `localhost` (what the daemon's Host check expects). */
export function targetUrl(target: HttpTarget, path: string): string {
  if (target.kind === 'unix') return `http://localhost${path}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `https://${host}:${target.port}${path}`;
}
