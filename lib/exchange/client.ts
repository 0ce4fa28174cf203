import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { fromOauthError } from './errors.js';

export interface ExchangedToken {
  readonly access_token: string;
  readonly expires_in: number;
  readonly scope: string;
}

/**
 * The CLI's half of daemon mode: trades a subject token for a Gatekit token at [daemon] token_listen.
 * With `dpopProof` (RFC 9449 §5, htu = the token endpoint), the token comes back bound to its key.
 */
export function exchangeToken(
  config: Config,
  subjectToken: string,
  subjectTokenType: string,
  resource: string,
  dpopProof?: string,
): Promise<ExchangedToken> {
  const at = config.daemon.token_listen;
  if (!at)
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: broker.mode = "daemon" needs [daemon] token_listen (the daemon's token endpoint)`,
    );
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    resource,
    subject_token: subjectToken,
    subject_token_type: subjectTokenType,
  }).toString();
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(body)),
    accept: 'application/json',
  };
  if (dpopProof !== undefined) headers['dpop'] = dpopProof;
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => {
          text += d;
        })
        .on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text);
          } catch {
            /* reported below */
          }
          if (res.statusCode === 200 && typeof json['access_token'] === 'string')
            return resolve(json as unknown as ExchangedToken);
          reject(fromOauthError(res.statusCode ?? 0, json as { error?: string; error_description?: string }));
        });
    };
    const tls = config.daemon.client_tls;
    const req =
      at.kind === 'unix'
        ? httpRequest({ socketPath: at.path, path: '/token', method: 'POST', headers }, onResponse)
        : httpsRequest(
            {
              host: at.host,
              port: at.port,
              path: '/token',
              method: 'POST',
              headers,
              ca: tls && readFileSync(tls.ca),
              cert: tls && readFileSync(tls.cert),
              key: tls && readFileSync(tls.key),
            },
            onResponse,
          );
    req.on('error', (cause) =>
      reject(
        new GatekitError(
          'DAEMON_UNREACHABLE',
          `cannot reach the daemon's token endpoint: ${(cause as NodeJS.ErrnoException).code ?? cause.message}`,
          {
            hint: 'is "gatekit daemon" running with broker.mode = "daemon"?',
            cause,
          },
        ),
      ),
    );
    req.end(body);
  });
}
