import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { DPOP_ALGORITHMS, DpopReplayCache, verifyDpopProof } from '../token/index.js';
import type { TrustedKeys, VerifiedTokenCache } from '../token/index.js';
import { passDoor, type VerifiedRequest } from './verify-request.js';

/** What the door needs of the daemon's state. */
interface DoorState {
  readonly config: Config;
  readonly keys: TrustedKeys;
  readonly cache: VerifiedTokenCache;
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

/** RFC 9449 §7.1: the DPoP scheme's proof, exactly one, checked against this request and token (synchronously). */
function checkProof(req: IncomingMessage, server: ServerConfig, token: string, boundTo: string | undefined): string {
  const proof = req.headers['dpop'];
  // Node joins repeated headers with ", "; a JWS has no comma (RFC 9449 §4.3 step 1: one header only).
  if (typeof proof !== 'string' || proof === '' || proof.includes(',')) {
    throw new GatekitError('DPOP_INVALID', 'send exactly one DPoP proof header with the DPoP scheme');
  }
  try {
    const check = { method: req.method ?? '', url: requestHtu(req, server), accessToken: token, replays, boundTo };
    return verifyDpopProof(proof, check).jkt;
  } catch (err) {
    if (!(err instanceof GatekitError) || err.code === 'TOKEN_INVALID') throw err;
    throw new GatekitError('DPOP_INVALID', err.message, { cause: err });
  }
}

/**
 * The daemon's door on HTTP (docs/architecture.md): a token from the Authorization header only — `Bearer`
 * (RFC 6750) or `DPoP` with a proof (RFC 9449 §7.1) — then `passDoor`. Throws only GatekitError:
 * LOGIN_REQUIRED for no token (RFC 6750 §3.1: no error code), BAD_REQUEST for a malformed header, and
 * passDoor's codes. Never looks at query strings or cookies.
 */
export function authenticate(
  req: IncomingMessage,
  state: DoorState,
  server: ServerConfig,
): VerifiedRequest | Promise<VerifiedRequest> {
  const header = req.headers.authorization;
  // No credentials, or another scheme (Basic, Digest…), is a request without a token.
  if (header === undefined || !/^(?:bearer|dpop)(?:\s|$)/i.test(header)) {
    throw new GatekitError(
      'LOGIN_REQUIRED',
      'authentication required: send Authorization: Bearer <token> (gatekit broker token)',
    );
  }
  const match = CREDENTIALS.exec(header);
  if (!match) throw new GatekitError('BAD_REQUEST', 'use the Authorization: Bearer or DPoP scheme');
  const token = match[2]!;
  return passDoor(token, {
    config: state.config,
    keys: state.keys,
    cache: state.cache,
    server,
    certThumbprint: certThumbprint(req),
    proofKey: match[1]!.toLowerCase() === 'dpop' ? (boundTo) => checkProof(req, server, token, boundTo) : undefined,
  });
}

/** Whether a refusal's challenge uses the DPoP scheme: a DPoP request, or a server that accepts nothing else. */
export function isDpopChallenge(req: IncomingMessage, server: ServerConfig): boolean {
  return server.token_binding === 'dpop' || /^dpop(?:\s|$)/i.test(req.headers.authorization ?? '');
}

/**
 * RFC 6750 §3 challenge, or RFC 9449 §7.1's DPoP challenge (with `algs`); the error name comes from the error
 * table (lib/errors.ts), none when no token was sent at all.
 */
export function challenge(err: GatekitError, isDpop: boolean, metadataUrl: string): string {
  // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E: no double quote or backslash, not even as an RFC 7230
  // quoted-pair. A double quote becomes an apostrophe, so `token issuer "x"` stays readable as `token issuer 'x'`.
  const quote = (s: string) =>
    s
      .replace(/"/g, "'")
      .replace(/\\/g, '/')
      .replace(/[^\x20-\x7e]/g, ' ');
  const parts = [`resource_metadata="${metadataUrl}"`];
  const error = err.challengeError;
  if (error) parts.unshift(`error="${error}"`, `error_description="${quote(err.message)}"`);
  if (isDpop || error === 'invalid_dpop_proof') {
    return `DPoP ${[...parts, `algs="${DPOP_ALGORITHMS.join(' ')}"`].join(', ')}`;
  }
  return `Bearer ${parts.join(', ')}`;
}
