import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isLoopbackHost } from '../config/index.js';
import { GatekitError } from '../errors.js';

export interface JwksFetchOptions {
  /** Extra CA certificates for https (tests); otherwise the system store and NODE_EXTRA_CA_CERTS. */
  readonly ca?: string | Buffer | undefined;
  /** The whole fetch, redirects included (default 10 s). */
  readonly timeoutMs?: number | undefined;
  /** Largest body read; a longer one is refused while it streams (default 256 KiB). */
  readonly maxBytes?: number | undefined;
}

const JWKS_MAX_BYTES = 256 * 1024;
const MAX_REDIRECTS = 3;
const DEFAULT_TIMEOUT_MS = 10_000;

function refused(message: string, cause?: unknown): GatekitError {
  return new GatekitError('KEY_INVALID', message, { cause });
}

/**
 * Where trusted keys may come from: https, or plain http only to a loopback host (127.0.0.0/8, ::1,
 * localhost), where nobody can sit in the middle. Checked at config load and at every redirect hop.
 */
function isAllowedKeyUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * Fetches a JWKS document: redirects followed by hand (at most 3, each hop re-checked, and never
 * from https down to http), the body capped while it streams, the whole exchange bounded in time.
 * Returns the parsed JSON; the caller picks the keys it trusts.
 */
export async function fetchJwks(source: string, options: JwksFetchOptions = {}): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let url = new URL(source);
  for (let hop = 0; ; hop++) {
    if (!isAllowedKeyUrl(url)) {
      throw refused(`trusted keys URL ${url.href} is neither https nor http on a loopback host`);
    }
    const res = await get(url, options.ca, signal);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.destroy();
      if (hop >= MAX_REDIRECTS) throw refused(`trusted keys URL ${source} redirects more than ${MAX_REDIRECTS} times`);
      const next = new URL(res.headers.location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw refused(`trusted keys URL ${url.href} redirects to ${next.protocol}, leaving https`);
      }
      url = next;
      continue;
    }
    if (status !== 200) {
      res.destroy();
      throw refused(`trusted keys URL ${url.href} answered HTTP ${status}`);
    }
    const text = await readCapped(res, options.maxBytes ?? JWKS_MAX_BYTES, url.href);
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw refused(`trusted keys URL ${url.href} did not return JSON`, cause);
    }
  }
}

function get(url: URL, ca: string | Buffer | undefined, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = { accept: 'application/jwk-set+json, application/json' };
    const options = { signal, headers, ...(ca ? { ca } : {}) };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, resolve);
    req.once('error', (cause: Error) => {
      reject(refused(`cannot fetch trusted keys from ${url.href}: ${describe(cause, signal)}`, cause));
    });
    req.end();
  });
}

function readCapped(res: IncomingMessage, max: number, where: string): Promise<string> {
  const declared = Number(res.headers['content-length']);
  if (declared > max) {
    res.destroy();
    return Promise.reject(refused(`trusted keys at ${where} are larger than ${max} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      res.destroy();
      reject(refused(`trusted keys at ${where} are larger than ${max} bytes`));
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', (cause) => reject(refused(`cannot read trusted keys from ${where}: ${cause.message}`, cause)));
    res.once('close', () => {
      if (!res.complete) reject(refused(`trusted keys from ${where}: the connection closed early`));
    });
  });
}

function describe(cause: Error, signal: AbortSignal): string {
  if (signal.aborted) return 'timed out';
  return (cause as NodeJS.ErrnoException).code ?? cause.message;
}
