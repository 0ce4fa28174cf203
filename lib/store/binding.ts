import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';

/**
 * RFC 8705 §3.1 `x5t#S256` of a PEM certificate file: base64url SHA-256 of its DER encoding.
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3.1
 */
export function certificateThumbprint(pemFile: string): string {
  let der: Buffer;
  try {
    der = new X509Certificate(readFileSync(pemFile)).raw;
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new GatekitError('CONFIG_INVALID', `cannot read the certificate ${pemFile}: ${why}`, {
      hint: 'run "gatekit init"',
      cause,
    });
  }
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * The certificate a token for `server` is bound to (RFC 8705 `cnf`): `[daemon] client_tls.cert` when
 * the server listens on loopback mTLS and this CLI mints locally; undefined otherwise (a Unix socket
 * has no certificate; daemon mode's token exchange does not bind yet). Part of the token cache key.
 */
export function certificateBinding(config: Config, server: ServerConfig): string | undefined {
  if (server.listen.kind !== 'tcp' || config.broker.mode !== 'local' || !config.daemon.client_tls) return undefined;
  return certificateThumbprint(config.daemon.client_tls.cert);
}
