import { readFileSync } from 'node:fs';
import type { TlsFiles } from '../config/index.js';
import { GatekitError } from '../errors.js';

/** The PEM contents of a `{ ca, cert, key }` triple, ready for node:tls or undici's `connect` options. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads the three PEM files of `[daemon] tls` or `[daemon] client_tls`. Checks only that each file can be read,
 * not that it parses (node:tls does that at handshake). An unreadable file is `CONFIG_INVALID` naming the
 * config file, the key (e.g. `daemon.tls.cert`) and the path, so the one to fix is plain.
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2 (mutual TLS client authentication)
 */
export function readTlsFiles(files: TlsFiles, configFile: string, key: string): TlsMaterial {
  const read = (part: keyof TlsFiles): Buffer => {
    try {
      return readFileSync(files[part]);
    } catch (cause) {
      const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
      throw new GatekitError('CONFIG_INVALID', `${configFile}: cannot read ${key}.${part} (${files[part]}): ${why}`, {
        hint: 'run "gatekit init"',
        cause,
      });
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}
