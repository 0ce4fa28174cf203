import type { IncomingMessage } from 'node:http';
import { GatekitError } from '../errors.js';

export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  readonly limit: number;
  /** What the limit is called, for the message: e.g. `max_body_bytes`. */
  readonly limitName?: string;
  /** The media type the body must have (RFC 9110 §8.3.1: type/subtype, case-insensitive; parameters ignored). */
  readonly type?: string;
}

/**
 * Reads a request body as UTF-8, at most `limit` bytes. A declared or streamed body over the limit is
 * `BODY_TOO_LARGE` (413): the rest is drained, not buffered, so a 413 can still be sent.
 * With `type`, a body of another media type is `BAD_REQUEST` before a byte is read. Does not parse the body.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14 (413 Content Too Large)
 */
export function readBody(req: IncomingMessage, { limit, limitName, type }: BodyLimits): Promise<string> {
  if (type !== undefined && mediaType(req.headers['content-type']) !== type) {
    req.resume();
    return Promise.reject(new GatekitError('BAD_REQUEST', `the body must be ${type}`));
  }
  const tooLarge = () =>
    new GatekitError('BODY_TOO_LARGE', `body larger than ${limit} bytes${limitName ? ` (${limitName})` : ''}`);
  if (Number(req.headers['content-length']) > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  // Gone before this step even began (the client left while an earlier step awaited): no 'close' will come again.
  if (req.destroyed && !req.complete)
    return Promise.reject(new GatekitError('BAD_REQUEST', 'the request body was cut off before its end'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.removeAllListeners('data');
      req.resume();
      reject(tooLarge());
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // Cut off: the client went away, or was too slow (the listener's request_timeout closed the connection).
    const cut = () => reject(new GatekitError('BAD_REQUEST', 'the request body was cut off before its end'));
    req.on('error', cut);
    req.on('close', () => {
      if (!req.complete) cut();
    });
  });
}

/** `type/subtype` of a Content-Type header, lower-cased, or undefined (RFC 9110 §8.3.1). */
function mediaType(header: string | undefined): string | undefined {
  return header?.split(';', 1)[0]!.trim().toLowerCase() || undefined;
}
