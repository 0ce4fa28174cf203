import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { checkBinding, DPOP_ALGORITHMS, DpopReplayCache, verifyDpopProof } from '../token/index.js';
import type { AccessTokenClaims, TrustedKeys, VerifiedTokenCache } from '../token/index.js';
import { admit, type Admission } from './verify-request.js';

export interface Authenticated {
  readonly claims: AccessTokenClaims;
  readonly admission: Admission;
}

type AuthError = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof';

/** Why a request was refused at the door; rendered as RFC 6750 / RFC 9449 / RFC 9728 headers. */
export interface Refusal {
  readonly status: 400 | 401 | 403;
  readonly error?: AuthError;
  readonly description?: string;
  /** The challenge's scheme: DPoP for DPoP requests and for servers that accept only DPoP (RFC 9449 §7.1). */
  readonly scheme?: 'Bearer' | 'DPoP';
}

const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;
const thumbprints = new WeakMap<object, string | undefined>();
/** Proof jtis seen by this process (RFC 9449 §11.1); outlives a SIGHUP reload, bounded in memory. */
const replays = new DpopReplayCache();

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
 * The URI a DPoP proof's `htu` must name for this request (RFC 9449 §4.3 step 9): the scheme the
 * listener speaks (http on a Unix socket, https on mTLS), the Host header — already checked to be
 * one of the listener's loopback names — and the path. So a client of a Unix socket signs
 * `http://localhost/mcp`, one of an mTLS listener `https://127.0.0.1:PORT/mcp`.
 */
export function requestHtu(req: IncomingMessage, server: ServerConfig): string {
  const path = (req.url ?? '/').split('?')[0];
  return `${server.listen.kind === 'unix' ? 'http' : 'https'}://${req.headers.host ?? 'localhost'}${path}`;
}

const refuse = (status: 400 | 401, error: AuthError, description: string, scheme?: 'Bearer' | 'DPoP'): Refusal => ({
  status,
  error,
  description,
  ...(scheme ? { scheme } : {}),
});

/** RFC 9449 §7.1: the DPoP scheme's proof, exactly one, checked against this request and token. */
async function checkProof(req: IncomingMessage, server: ServerConfig, token: string): Promise<string> {
  const proof = req.headers['dpop'];
  // Node joins repeated headers with ", "; a JWS has no comma (RFC 9449 §4.3 step 1: one header only).
  if (typeof proof !== 'string' || proof === '' || proof.includes(',')) {
    throw refuse(401, 'invalid_dpop_proof', 'send exactly one DPoP proof header with the DPoP scheme', 'DPoP');
  }
  try {
    const check = { method: req.method ?? '', url: requestHtu(req, server), accessToken: token, replays };
    return (await verifyDpopProof(proof, check)).jkt;
  } catch (err) {
    if (!(err instanceof GatekitError)) throw err;
    throw refuse(401, 'invalid_dpop_proof', err.message, 'DPoP');
  }
}

/** `token_binding` (the server's config): which tokens, bound how, this server takes at all. */
function checkTokenBinding(server: ServerConfig, claims: AccessTokenClaims, scheme: 'Bearer' | 'DPoP'): void {
  const cnf = claims.cnf ?? {};
  if (scheme === 'DPoP' && typeof cnf.jkt !== 'string') {
    throw refuse(401, 'invalid_token', 'the DPoP scheme needs a DPoP-bound token (cnf.jkt)', 'DPoP');
  }
  if (server.token_binding === 'dpop' && typeof cnf.jkt !== 'string') {
    throw refuse(401, 'invalid_token', 'this server accepts DPoP-bound tokens only (token_binding = "dpop")', 'DPoP');
  }
  if (server.token_binding === 'mtls' && typeof cnf['x5t#S256'] !== 'string') {
    throw refuse(401, 'invalid_token', 'this server accepts certificate-bound tokens only (token_binding = "mtls")');
  }
}

/**
 * The daemon's door (docs/architecture.md): a token from the Authorization header only — `Bearer`
 * (RFC 6750) or `DPoP` with a proof (RFC 9449 §7.1) — verified (signature cached per token) for
 * this server's resource, its `cnf` binding (certificate or DPoP key) and the server's
 * `token_binding`, then the *current* policy. Throws a Refusal; never looks at query strings or cookies.
 */
export async function authenticate(
  req: IncomingMessage,
  config: Config,
  server: ServerConfig,
  keys: TrustedKeys,
  cache: VerifiedTokenCache,
): Promise<Authenticated> {
  const header = req.headers.authorization;
  const dpopOnly = server.token_binding === 'dpop';
  // RFC 6750 §3.1: no credentials, or another scheme (Basic, Digest…), is a request without a token: no error code.
  if (header === undefined || !/^(?:bearer|dpop)(?:\s|$)/i.test(header)) {
    throw { status: 401, ...(dpopOnly ? { scheme: 'DPoP' } : {}) } satisfies Refusal;
  }
  const match = CREDENTIALS.exec(header);
  if (!match) {
    throw refuse(400, 'invalid_request', 'use the Authorization: Bearer or DPoP scheme', dpopOnly ? 'DPoP' : undefined);
  }
  const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  const token = match[2]!;
  const tokenRefusal = (err: unknown) => {
    const description = err instanceof GatekitError ? err.message : 'invalid token';
    return refuse(401, 'invalid_token', description, scheme === 'DPoP' || dpopOnly ? 'DPoP' : undefined);
  };
  let claims: AccessTokenClaims;
  // The token first (cached, cheap to refuse), then its proof: a bad token never costs a proof
  // check, and only holders of a good token can fill the replay cache.
  try {
    claims = await cache.verifySigned(token, { keys, issuers: [config.broker.issuer] });
  } catch (err) {
    throw tokenRefusal(err);
  }
  const dpopJkt = scheme === 'DPoP' ? await checkProof(req, server, token) : undefined;
  try {
    checkBinding(claims, server.resource, certThumbprint(req), Date.now(), dpopJkt);
  } catch (err) {
    throw tokenRefusal(err);
  }
  checkTokenBinding(server, claims, scheme);
  try {
    return { claims, admission: admit(config, server, claims) };
  } catch (err) {
    const e = err as GatekitError;
    const dpopScheme = scheme === 'DPoP' ? 'DPoP' : undefined;
    if (e.code === 'TOKEN_INVALID') throw refuse(401, 'invalid_token', e.message, dpopScheme);
    throw { status: 403, error: 'insufficient_scope', description: e.message, scheme: dpopScheme } satisfies Refusal;
  }
}

export function isRefusal(value: unknown): value is Refusal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Refusal).status === 'number' &&
    !(value instanceof Error)
  );
}

/**
 * RFC 6750 §3 challenge, or RFC 9449 §7.1's DPoP challenge (with `algs`) when the request used
 * DPoP or the server accepts nothing else; no `error` when no token was sent at all.
 */
export function challenge(refusal: Refusal, metadataUrl: string): string {
  const quote = (s: string) => s.replace(/["\\\r\n]/g, ' ');
  const parts = [`resource_metadata="${metadataUrl}"`];
  if (refusal.error)
    parts.unshift(`error="${refusal.error}"`, `error_description="${quote(refusal.description ?? refusal.error)}"`);
  if (refusal.scheme === 'DPoP' || refusal.error === 'invalid_dpop_proof') {
    return `DPoP ${[...parts, `algs="${DPOP_ALGORITHMS.join(' ')}"`].join(', ')}`;
  }
  return `Bearer ${parts.join(', ')}`;
}
