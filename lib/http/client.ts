import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { GatekitError } from '../errors.js';
import { checkSocketOwner } from './socket-owner.js';
import type { HttpTarget } from './target.js';

export interface TextRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
  /** Ends the request wherever it is (connect, handshake, a slow answer): `timeoutMs` only bounds idleness. */
  readonly signal?: AbortSignal;
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
 * connection, failed handshake or timeout is `DAEMON_UNREACHABLE` naming `peer` and the socket error code. A Unix
 * socket is checked first (`checkSocketOwner`): nothing is sent to one another user could have bound.
 */
export function requestText(target: HttpTarget, request: TextRequest): Promise<TextResponse> {
  try {
    if (target.kind === 'unix') checkSocketOwner(target.path, target.owners ?? [], request.peer);
  } catch (err) {
    return Promise.reject(err);
  }
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
  const options: RequestOptions = { method: request.method, path: request.path, headers, timeout: request.timeoutMs };
  if (request.signal) options.signal = request.signal;
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
