import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
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

export interface TextRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
  /** Who answers, for the error: e.g. `the daemon's token endpoint`. */
  readonly peer: string;
  readonly hint: string;
}

export interface TextResponse {
  readonly status: number;
  readonly text: string;
}

/**
 * One request with a small text answer over node:http, or node:https for a TCP target (loaded only then, so
 * `broker token` inside `gatekit exec` stays as light as the cached path). Any status resolves; a refused
 * connection, failed handshake or timeout is `DAEMON_UNREACHABLE` naming `peer` and the socket error code.
 */
export function requestText(target: HttpTarget, request: TextRequest): Promise<TextResponse> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
  const options: RequestOptions = { method: request.method, path: request.path, headers, timeout: request.timeoutMs };
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', fail);
    };
    const fail = (cause: NodeJS.ErrnoException) =>
      reject(
        new GatekitError('DAEMON_UNREACHABLE', `cannot reach ${request.peer}: ${cause.code ?? cause.message}`, {
          hint: request.hint,
          cause,
        }),
      );
    let req: ClientRequest;
    if (target.kind === 'unix') req = httpRequest({ ...options, socketPath: target.path }, onResponse);
    else {
      const https = process.getBuiltinModule('node:https');
      req = https.request({ ...options, host: target.host, port: target.port, ...target.tls }, onResponse);
    }
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', fail);
    req.end(request.body);
  });
}
