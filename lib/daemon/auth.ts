import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import type { AccessTokenClaims, TrustedKeys, VerifiedTokenCache } from '../token/index.js';
import { admit, type Admission } from './verify-request.js';

export interface Authenticated { readonly claims: AccessTokenClaims; readonly admission: Admission }

/** Why a request was refused at the door; rendered as RFC 6750 / RFC 9728 headers. */
export interface Refusal { readonly status: 400 | 401 | 403; readonly error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'; readonly description?: string }

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const thumbprints = new WeakMap<object, string | undefined>();

/** RFC 8705 x5t#S256 of the client certificate on this TLS connection. */
function certThumbprint(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  if (!thumbprints.has(socket)) {
    const raw = socket.getPeerCertificate()?.raw;
    thumbprints.set(socket, raw ? createHash('sha256').update(raw).digest('base64url') : undefined);
  }
  return thumbprints.get(socket);
}

/**
 * The daemon's door (RFC 6750 §2.1): a Bearer token from the Authorization header only, verified
 * (signature cached per token) for this server's resource, then the *current* policy. Throws a
 * Refusal; never looks at query strings or cookies.
 */
export async function authenticate(req: IncomingMessage, config: Config, server: ServerConfig, keys: TrustedKeys, cache: VerifiedTokenCache): Promise<Authenticated> {
  const header = req.headers.authorization;
  // RFC 6750 §3.1: no credentials, or another scheme (Basic, Digest…), is a request without a token: no error code.
  if (header === undefined || !/^bearer(?:\s|$)/i.test(header)) throw { status: 401 } satisfies Refusal;
  const token = BEARER.exec(header)?.[1];
  if (!token) throw { status: 400, error: 'invalid_request', description: 'use the Authorization: Bearer scheme' } satisfies Refusal;
  let claims: AccessTokenClaims;
  try {
    claims = await cache.verify(token, { keys, issuers: [config.broker.issuer], audience: server.resource, certThumbprint: certThumbprint(req) });
  } catch (err) {
    throw { status: 401, error: 'invalid_token', description: err instanceof GatekitError ? err.message : 'invalid token' } satisfies Refusal;
  }
  try {
    return { claims, admission: admit(config, server, claims) };
  } catch (err) {
    const e = err as GatekitError;
    if (e.code === 'TOKEN_INVALID') throw { status: 401, error: 'invalid_token', description: e.message } satisfies Refusal;
    throw { status: 403, error: 'insufficient_scope', description: e.message } satisfies Refusal;
  }
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && typeof (value as Refusal).status === 'number' && !(value instanceof Error);
}

/** RFC 6750 §3 challenge; no `error` when no token was sent at all. */
export function challenge(refusal: Refusal, metadataUrl: string): string {
  const quote = (s: string) => s.replace(/["\\\r\n]/g, ' ');
  const parts = [`resource_metadata="${metadataUrl}"`];
  if (refusal.error) parts.unshift(`error="${refusal.error}"`, `error_description="${quote(refusal.description ?? refusal.error)}"`);
  return `Bearer ${parts.join(', ')}`;
}
