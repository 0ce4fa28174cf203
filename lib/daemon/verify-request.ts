import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError, isGatekitError } from '../errors.js';
import { authorize, type Decision } from '../policy/index.js';
import {
  checkBinding,
  userOf,
  type AccessTokenClaims,
  type TrustedKeys,
  type VerifiedTokenCache,
} from '../token/index.js';

export interface Admission {
  readonly user: string;
  /** The tool patterns the token's scope grants. */
  readonly tools: readonly string[];
  /** The current policy's decision: a tool is callable only if scope, allow and deny all agree. */
  readonly decision: Extract<Decision, { allowed: true }>;
}

export interface VerifiedRequest extends Admission {
  readonly claims: AccessTokenClaims;
  readonly server: ServerConfig;
}

export interface DoorInput {
  readonly config: Config;
  readonly keys: TrustedKeys;
  /** Signature checks, cached per token until it expires (lib/token/cache.ts). */
  readonly cache: VerifiedTokenCache;
  /** The server the token must be for; without one, the token's own `aud` picks it, after its signature checks out. */
  readonly server?: ServerConfig | undefined;
  /** RFC 8705 x5t#S256 of the client certificate the token came with. */
  readonly certThumbprint?: string | undefined;
  /**
   * The DPoP scheme (RFC 9449 §7.1): checks the request's proof, after the token, and returns its key's `jkt`;
   * `boundTo` is the token's `cnf.jkt`, so that a proof by another key is refused before it is recorded.
   */
  readonly proofKey?: ((boundTo: string | undefined) => string | Promise<string>) | undefined;
}

/**
 * The daemon's door, also run by `gatekit token verify` (docs/architecture.md, "one door"): the token's signature
 * and claims (RFC 9068 §4, cached), the proof of a DPoP request (RFC 9449 §7.1), its `cnf` binding (RFC 8705 §3,
 * RFC 9449 §6), the server's `token_binding`, then the *current* policy and per-user not-before.
 * Throws only GatekitError: TOKEN_INVALID / TOKEN_EXPIRED, DPOP_INVALID, POLICY_DENIED. Reads no header itself.
 * A token already verified is answered synchronously (no promise on the hot path), and so is its DPoP proof when
 * `proofKey` checks it synchronously.
 */
export function passDoor(token: string, input: DoorInput): VerifiedRequest | Promise<VerifiedRequest> {
  const known = input.cache.cached(token, input.keys);
  if (!known) return verifyThenAdmit(token, input);
  if (!input.proofKey) return admitted(known, input, undefined);
  let jkt: string | Promise<string>;
  try {
    jkt = input.proofKey(known.cnf?.jkt);
  } catch (err) {
    throw refusedAs(err, known, input.config);
  }
  if (typeof jkt === 'string') return admitted(known, input, jkt);
  return jkt.then(
    (key) => admitted(known, input, key),
    (err: unknown) => {
      throw refusedAs(err, known, input.config);
    },
  );
}

async function verifyThenAdmit(token: string, input: DoorInput): Promise<VerifiedRequest> {
  let claims: AccessTokenClaims;
  // The token first (cached, cheap to refuse), then its proof: a bad token never costs a proof
  // check, and only holders of a good token can fill the replay cache.
  try {
    claims = await input.cache.verifySigned(token, { keys: input.keys, issuers: [input.config.broker.issuer] });
  } catch (err) {
    throw asTokenInvalid(err);
  }
  let jkt: string | undefined;
  try {
    jkt = input.proofKey ? await input.proofKey(claims.cnf?.jkt) : undefined;
  } catch (err) {
    throw refusedAs(err, claims, input.config);
  }
  return admitted(claims, input, jkt);
}

/** Per request: the binding and token_binding; then the policy's admission, the same for the same claims. */
function admitted(claims: AccessTokenClaims, input: DoorInput, dpopJkt: string | undefined): VerifiedRequest {
  try {
    const server = input.server ?? serverOfAudience(input.config, claims.aud);
    try {
      checkBinding(claims, server.resource, input.certThumbprint, Date.now(), dpopJkt);
    } catch (err) {
      throw asTokenInvalid(err);
    }
    checkTokenBinding(server, claims, dpopJkt !== undefined);
    return admission(input.config, server, claims);
  } catch (err) {
    throw refusedAs(err, claims, input.config);
  }
}

/** Who a door refusal is about, for the ones thrown once the token's signature checked out. */
const refusedWho = new WeakMap<object, DoorWho>();

/** The person of a verified token the door then refused: its audit line names them (user, sub, jti). */
export interface DoorWho {
  readonly user: string;
  readonly sub: string;
  readonly jti: string;
}

function refusedAs(err: unknown, claims: AccessTokenClaims, config: Config): unknown {
  if (typeof err === 'object' && err !== null && !refusedWho.has(err)) {
    const user = userOf(claims, config.idp?.user_claim ?? 'email');
    refusedWho.set(err, { user, sub: claims.sub, jti: claims.jti });
  }
  return err;
}

/** The person whose verified token the door refused with `err`; undefined for a token that did not verify. */
export function whoWasRefused(err: unknown): DoorWho | undefined {
  return typeof err === 'object' && err !== null ? refusedWho.get(err) : undefined;
}

/**
 * Admissions by server, then by verified claims. A config reload parses new ServerConfig objects, so a changed
 * policy or not-before applies from the next request on; the claims object is the token cache's own, made anew
 * whenever the token is verified again (new trusted keys). Both keys are weak: nothing outlives what it is about.
 */
const admissions = new WeakMap<ServerConfig, WeakMap<AccessTokenClaims, VerifiedRequest>>();

function admission(config: Config, server: ServerConfig, claims: AccessTokenClaims): VerifiedRequest {
  let byClaims = admissions.get(server);
  if (!byClaims) admissions.set(server, (byClaims = new WeakMap()));
  let verified = byClaims.get(claims);
  if (!verified) byClaims.set(claims, (verified = { claims, server, ...admit(config, server, claims) }));
  return verified;
}

/**
 * An open stream's claims against a (reloaded) config: what `passDoor` checks after the token's signature and proof
 * — the server still configured for the token's audience, its `token_binding`, then the policy and per-user
 * not-before. Throws as passDoor does. A token bound to a DPoP key was let in with a proof (the door takes it no
 * other way), so it counts as a DPoP request here.
 */
export function readmit(config: Config, serverName: string, claims: AccessTokenClaims): VerifiedRequest {
  const server = config.servers.get(serverName);
  if (!server || server.resource !== claims.aud)
    throw new GatekitError('TOKEN_INVALID', `server "${serverName}" is no longer configured for this token`);
  checkTokenBinding(server, claims, typeof claims.cnf?.jkt === 'string');
  return admission(config, server, claims);
}

function asTokenInvalid(err: unknown): GatekitError {
  if (isGatekitError(err, 'TOKEN_INVALID') || isGatekitError(err, 'TOKEN_EXPIRED')) return err;
  return new GatekitError('TOKEN_INVALID', isGatekitError(err) ? err.message : 'invalid token', { cause: err });
}

function serverOfAudience(config: Config, aud: string): ServerConfig {
  for (const server of config.servers.values()) if (server.resource === aud) return server;
  throw new GatekitError('TOKEN_INVALID', `aud "${aud}" is not the resource of any server in ${config.file}`);
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

/** Policy and not-before for verified claims; POLICY_DENIED when the current config refuses them. */
function admit(config: Config, server: ServerConfig, claims: AccessTokenClaims): Admission {
  const user = userOf(claims, config.idp?.user_claim ?? 'email');
  const auth = authorize(
    { user, sub: claims.sub, groups: claims.groups ?? [], iat: claims.iat, scope: claims.scope },
    server,
    config.daemon.not_before,
  );
  if (!auth.allowed) {
    throw new GatekitError(
      auth.revoked ? 'TOKEN_INVALID' : 'POLICY_DENIED',
      auth.revoked ? auth.reason : `denied by policy: ${auth.reason}`,
      { rule: auth.rule },
    );
  }
  return { tools: auth.tools, user, decision: auth.decision };
}
