import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError, isGatekitError } from '../errors.js';
import type { Person } from '../person.js';
import { authorize, type Decision } from '../policy/index.js';
import {
  accessTokenHash,
  checkBinding,
  DpopReplayCache,
  userOf,
  verifyDpopProof,
  type AccessTokenClaims,
  type TrustedKeys,
  type VerifiedTokenCache,
} from '../token/index.js';

/** The current policy's word on a verified token: who, and which tools. */
export interface Admission {
  readonly person: Person;
  /** The tool patterns the token's scope grants. */
  readonly tools: readonly string[];
  /** The current policy's decision: a tool is callable only if scope, allow and deny all agree. */
  readonly decision: Extract<Decision, { allowed: true }>;
}

/** What the door lets in: the admission, the verified claims and the server they are for. */
export interface Admitted extends Admission {
  readonly claims: AccessTokenClaims;
  readonly server: ServerConfig;
}

/**
 * What the door remembers, with the process (it outlives a SIGHUP reload): proof `jti`s seen (RFC 9449 §11.1,
 * bounded in memory), client-certificate thumbprints per TLS connection, admissions per loaded server config and
 * verified claims, and the person of each refusal thrown after their token's signature checked out. Every key but
 * the replays' is weak: nothing outlives what it is about.
 */
export class DoorMemory {
  readonly replays = new DpopReplayCache();
  readonly thumbprints = new WeakMap<object, string | undefined>();
  /** The `ath` a DPoP proof must carry (RFC 9449 §4.2), per verified token: its client sends it with every proof. */
  readonly #tokenHashes = new WeakMap<AccessTokenClaims, string>();
  /** A reload parses new ServerConfig objects, so a changed policy or not-before applies from the next request on. */
  readonly admissions = new WeakMap<ServerConfig, WeakMap<AccessTokenClaims, Admitted>>();
  readonly #refused = new WeakMap<object, Person>();

  /** The person whose verified token the door refused with `err`; undefined for a token that did not verify. */
  refusedPerson(err: unknown): Person | undefined {
    return typeof err === 'object' && err !== null ? this.#refused.get(err) : undefined;
  }

  tokenHash(claims: AccessTokenClaims, token: string): string {
    let hash = this.#tokenHashes.get(claims);
    if (hash === undefined) this.#tokenHashes.set(claims, (hash = accessTokenHash(token)));
    return hash;
  }

  /** Marks `err` as a refusal of `person` (the first mark stays). */
  refusing(err: unknown, person: Person): unknown {
    if (typeof err === 'object' && err !== null && !this.#refused.has(err)) this.#refused.set(err, person);
    return err;
  }
}

/** What the door reads of the daemon's state: the config and keys of the moment, and its memory. */
export interface DoorState {
  readonly config: Config;
  readonly keys: TrustedKeys;
  /** Signature checks, cached per token until it expires (lib/token/cache.ts). */
  readonly cache: VerifiedTokenCache;
  readonly door: DoorMemory;
}

export interface Credentials {
  /** The server the token must be for; without one, the token's own `aud` picks it, after its signature checks out. */
  readonly server?: ServerConfig | undefined;
  /** RFC 8705 x5t#S256 of the client certificate the token came with. */
  readonly certThumbprint?: string | undefined;
  /**
   * The DPoP scheme (RFC 9449 §7.1): checks the request's proof, after the token, and returns its key's `jkt`;
   * given the token's verified claims, so that a proof by a key other than its `cnf.jkt` is refused before it is
   * recorded.
   */
  readonly proofKey?: ((claims: AccessTokenClaims) => string) | undefined;
}

const SCHEME = /^(?:bearer|dpop)(?:\s|$)/i;
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The daemon's door on HTTP (docs/architecture.md): header → token → binding → admission. A token from the
 * Authorization header only — `Bearer` (RFC 6750) or `DPoP` with exactly one proof (RFC 9449 §7.1) — then `passToken`.
 * Throws only GatekitError: LOGIN_REQUIRED for no token (RFC 6750 §3.1: no error code), BAD_REQUEST for a malformed
 * header, and passToken's codes. Never looks at query strings or cookies, nor at anything but the HTTP request.
 * A known token (and its proof) is let in synchronously: no promise on the hot path.
 */
export function enterDoor(req: IncomingMessage, state: DoorState, server: ServerConfig): Admitted | Promise<Admitted> {
  const header = req.headers.authorization;
  // No credentials, or another scheme (Basic, Digest…), is a request without a token.
  if (header === undefined || !SCHEME.test(header)) {
    throw new GatekitError(
      'LOGIN_REQUIRED',
      'authentication required: send Authorization: Bearer <token> (gatekit broker token)',
    );
  }
  const match = CREDENTIALS.exec(header);
  if (!match) throw new GatekitError('BAD_REQUEST', 'use the Authorization: Bearer or DPoP scheme');
  const token = match[2]!;
  const isDpop = match[1]!.toLowerCase() === 'dpop';
  return passToken(token, state, {
    server,
    certThumbprint: certThumbprint(req, state.door),
    proofKey: isDpop ? (claims) => checkProof(req, server, token, claims, state.door) : undefined,
  });
}

/**
 * The door after the header, also run by `gatekit token verify`: the token's signature and claims (RFC 9068 §4,
 * cached), the proof of a DPoP request (RFC 9449 §7.1), its `cnf` binding (RFC 8705 §3, RFC 9449 §6), the server's
 * `token_binding`, then the *current* policy and per-user not-before. Throws only GatekitError: TOKEN_INVALID /
 * TOKEN_EXPIRED, DPOP_INVALID, POLICY_DENIED. A token already verified is answered synchronously.
 */
export function passToken(token: string, state: DoorState, input: Credentials): Admitted | Promise<Admitted> {
  const known = state.cache.cached(token, state.keys);
  if (!known) return verifyThenAdmit(token, state, input);
  return admitted(known, state, input, proofOf(known, state, input));
}

async function verifyThenAdmit(token: string, state: DoorState, input: Credentials): Promise<Admitted> {
  let claims: AccessTokenClaims;
  // The token first (cached, cheap to refuse), then its proof: a bad token never costs a proof
  // check, and only holders of a good token can fill the replay cache.
  try {
    claims = await state.cache.verifySigned(token, { keys: state.keys, issuers: [state.config.broker.issuer] });
  } catch (err) {
    throw asTokenInvalid(err);
  }
  return admitted(claims, state, input, proofOf(claims, state, input));
}

/** The DPoP proof's key thumbprint, when the request came with the DPoP scheme. */
function proofOf(claims: AccessTokenClaims, state: DoorState, input: Credentials): string | undefined {
  try {
    return input.proofKey?.(claims);
  } catch (err) {
    throw state.door.refusing(err, personOf(claims, state.config));
  }
}

/** Per request: the binding and token_binding; then the policy's admission, the same for the same claims. */
function admitted(claims: AccessTokenClaims, state: DoorState, input: Credentials, jkt: string | undefined): Admitted {
  try {
    const server = input.server ?? serverOfAudience(state.config, claims.aud);
    try {
      checkBinding(claims, server.resource, input.certThumbprint, Date.now(), jkt);
    } catch (err) {
      throw asTokenInvalid(err);
    }
    checkTokenBinding(server, claims, jkt !== undefined);
    return admission(state, server, claims);
  } catch (err) {
    throw state.door.refusing(err, personOf(claims, state.config));
  }
}

/**
 * An open stream's claims against a (reloaded) config: what the door checks after the token's signature and proof
 * — the server still configured for the token's audience, its `token_binding`, then the policy and per-user
 * not-before. Throws as passToken does. A token bound to a DPoP key was let in with a proof (the door takes it no
 * other way), so it counts as a DPoP request here.
 */
export function readmit(state: DoorState, serverName: string, claims: AccessTokenClaims): Admitted {
  const server = state.config.servers.get(serverName);
  if (!server || server.resource !== claims.aud)
    throw new GatekitError('TOKEN_INVALID', `server "${serverName}" is no longer configured for this token`);
  checkTokenBinding(server, claims, typeof claims.cnf?.jkt === 'string');
  return admission(state, server, claims);
}

function admission(state: DoorState, server: ServerConfig, claims: AccessTokenClaims): Admitted {
  const { admissions } = state.door;
  let byClaims = admissions.get(server);
  if (!byClaims) admissions.set(server, (byClaims = new WeakMap()));
  let verified = byClaims.get(claims);
  if (!verified) byClaims.set(claims, (verified = { claims, server, ...admit(state.config, server, claims) }));
  return verified;
}

/** The person a verified token names. */
function personOf(claims: AccessTokenClaims, config: Config): Person {
  return {
    user: userOf(claims, config.idp?.user_claim ?? 'email'),
    sub: claims.sub,
    groups: claims.groups ?? [],
    jti: claims.jti,
  };
}

/** Policy and not-before for verified claims; POLICY_DENIED when the current config refuses them. */
function admit(config: Config, server: ServerConfig, claims: AccessTokenClaims): Admission {
  const person = personOf(claims, config);
  const auth = authorize(person, claims, server, config.daemon.not_before);
  if (!auth.allowed) {
    throw new GatekitError(
      auth.revoked ? 'TOKEN_INVALID' : 'POLICY_DENIED',
      auth.revoked ? auth.reason : `denied by policy: ${auth.reason}`,
      { rule: auth.rule },
    );
  }
  return { person, tools: auth.tools, decision: auth.decision };
}

/** `token_binding` (the server's config): which tokens, bound how, this server takes at all. */
function checkTokenBinding(server: ServerConfig, claims: AccessTokenClaims, isDpop: boolean): void {
  const cnf = claims.cnf ?? {};
  if (isDpop && typeof cnf.jkt !== 'string') {
    throw new GatekitError('TOKEN_INVALID', 'the DPoP scheme needs a DPoP-bound token (cnf.jkt)');
  }
  const rule = `servers.${server.name}.token_binding`;
  if (server.token_binding === 'dpop' && typeof cnf.jkt !== 'string') {
    throw new GatekitError('TOKEN_INVALID', 'this server accepts DPoP-bound tokens only (token_binding = "dpop")', {
      rule,
    });
  }
  if (server.token_binding === 'mtls' && typeof cnf['x5t#S256'] !== 'string') {
    throw new GatekitError(
      'TOKEN_INVALID',
      'this server accepts certificate-bound tokens only (token_binding = "mtls")',
      { rule },
    );
  }
}

function asTokenInvalid(err: unknown): GatekitError {
  if (isGatekitError(err, 'TOKEN_INVALID') || isGatekitError(err, 'TOKEN_EXPIRED')) return err;
  return new GatekitError('TOKEN_INVALID', isGatekitError(err) ? err.message : 'invalid token', { cause: err });
}

function serverOfAudience(config: Config, aud: string): ServerConfig {
  for (const server of config.servers.values()) if (server.resource === aud) return server;
  throw new GatekitError('TOKEN_INVALID', `aud "${aud}" is not the resource of any server in ${config.file}`);
}

/** RFC 8705 x5t#S256 of the client certificate on this TLS connection, once per connection. */
function certThumbprint(req: IncomingMessage, memory: DoorMemory): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const { thumbprints } = memory;
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
function requestHtu(req: IncomingMessage, server: ServerConfig): string {
  const path = (req.url ?? '/').split('?')[0];
  return `${server.listen.kind === 'unix' ? 'http' : 'https'}://${req.headers.host ?? 'localhost'}${path}`;
}

/** RFC 9449 §7.1: the DPoP scheme's proof, exactly one, checked against this request and token (synchronously). */
function checkProof(
  req: IncomingMessage,
  server: ServerConfig,
  token: string,
  claims: AccessTokenClaims,
  memory: DoorMemory,
): string {
  const proof = req.headers['dpop'];
  // Node joins repeated headers with ", "; a JWS has no comma (RFC 9449 §4.3 step 1: one header only).
  if (typeof proof !== 'string' || proof === '' || proof.includes(',')) {
    throw new GatekitError('DPOP_INVALID', 'send exactly one DPoP proof header with the DPoP scheme');
  }
  try {
    return verifyDpopProof(proof, {
      method: req.method ?? '',
      url: requestHtu(req, server),
      accessTokenHash: memory.tokenHash(claims, token),
      boundTo: claims.cnf?.jkt,
      replays: memory.replays,
    }).jkt;
  } catch (err) {
    if (!(err instanceof GatekitError) || err.code === 'TOKEN_INVALID') throw err;
    throw new GatekitError('DPOP_INVALID', err.message, { cause: err });
  }
}
