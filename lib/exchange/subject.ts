import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { Config, WorkloadTrust } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { globMatch } from '../policy/index.js';
import { identityFromClaims, type Identity } from '../token/index.js';

export const TOKEN_TYPES = {
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

interface Discovery { readonly issuer: string; readonly jwks_uri: string; readonly userinfo_endpoint?: string; readonly id_token_signing_alg_values_supported?: string[] }

const USERINFO_TTL_MS = 60_000;
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const invalid = (message: string, cause?: unknown) => new GatekitError('TOKEN_INVALID', message, { cause });

/** Who a subject token speaks for, and how the audit log should name them. */
export interface Subject { readonly identity: Identity; readonly workload?: string | undefined }

/**
 * Verifies RFC 8693 subject tokens for the daemon: an ID token by the IdP's JWKS, issuer,
 * audience (client_id) and expiry; an access token at the IdP's userinfo endpoint (cached a
 * minute, keyed by its hash); a CI workload JWT against a `[[trust.workload]]` entry. Keys and
 * discovery come only from configured issuers, never from the token.
 */
export class SubjectVerifier {
  readonly #config: Config;
  readonly #discovery = new Map<string, Promise<Discovery>>();
  readonly #jwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  readonly #userinfo = new Map<string, { claims: Record<string, unknown>; until: number }>();

  constructor(config: Config) { this.#config = config }

  async verify(token: string, type: string): Promise<Subject> {
    if (token.length > 16_384) throw invalid('subject_token too large');
    if (type === TOKEN_TYPES.id_token) return { identity: this.#person(await this.#idToken(token)) };
    if (type === TOKEN_TYPES.access_token) return { identity: this.#person(await this.#accessToken(token)) };
    if (type === TOKEN_TYPES.jwt) return this.#workload(token);
    throw new GatekitError('BAD_REQUEST', `unsupported subject_token_type; use ${Object.values(TOKEN_TYPES).join(', ')}`);
  }

  #idp() {
    const idp = this.#config.idp;
    if (!idp || idp.kind !== 'oidc') throw invalid('this daemon trusts no OpenID provider for people ([idp] is not an OpenID provider)');
    return idp;
  }

  async #idToken(token: string): Promise<JWTPayload> {
    const idp = this.#idp();
    const doc = await this.#discover(idp.issuer);
    const algorithms = (doc.id_token_signing_alg_values_supported ?? ['RS256']).filter((a) => ASYMMETRIC.includes(a));
    try {
      const { payload } = await jwtVerify(token, this.#keys(doc), { issuer: idp.issuer, audience: idp.client_id, algorithms, requiredClaims: ['sub', 'exp', 'iat'] });
      return payload;
    } catch (err) {
      throw invalid(`the ID token is not valid: ${describe(err)}`, err);
    }
  }

  async #accessToken(token: string): Promise<Record<string, unknown>> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.#userinfo.get(key);
    if (hit && hit.until > Date.now()) return hit.claims;
    const idp = this.#idp();
    const doc = await this.#discover(idp.issuer);
    if (!doc.userinfo_endpoint) throw invalid('the identity provider has no userinfo endpoint; send an ID token');
    let res: Response;
    try {
      res = await fetch(doc.userinfo_endpoint, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
    } catch (cause) {
      throw new GatekitError('IDP_UNREACHABLE', 'cannot reach the identity provider\'s userinfo endpoint', { cause });
    }
    if (!res.ok) throw invalid(`the identity provider did not accept the access token (userinfo answered ${res.status})`);
    const claims = await res.json() as Record<string, unknown>;
    if (typeof claims['sub'] !== 'string') throw invalid('userinfo answered without a sub');
    if (this.#userinfo.size > 1000) this.#userinfo.clear();
    this.#userinfo.set(key, { claims, until: Date.now() + USERINFO_TTL_MS });
    return claims;
  }

  #person(claims: Record<string, unknown>): Identity {
    return identityFromClaims(claims, this.#idp());
  }

  async #workload(token: string): Promise<Subject> {
    let iss: string | undefined;
    try { iss = decodeJwt(token).iss } catch { throw invalid('the subject token is not a JWT') }
    const entries = this.#config.workloads.filter((w) => w.issuer === iss);
    if (!entries.length) throw invalid(`no [[trust.workload]] trusts the issuer "${String(iss).slice(0, 200)}"`);
    const doc = await this.#discover(entries[0]!.issuer);
    let lastError: GatekitError | undefined;
    for (const entry of entries) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, this.#keys(doc), { issuer: entry.issuer, audience: entry.audience, algorithms: ASYMMETRIC, requiredClaims: ['sub', 'exp', 'iat'] }));
      } catch (err) {
        lastError = invalid(`the workload token is not valid: ${describe(err)}`, err);
        continue;
      }
      const failed = Object.entries(entry.claims).find(([claim, pattern]) => typeof payload[claim] !== 'string' || !globMatch(pattern, payload[claim] as string));
      if (failed) { lastError = invalid(`the workload's ${failed[0]} does not match [[trust.workload]] (${entry.issuer})`); continue }
      const user = fill(entry, payload);
      return { identity: { user, sub: String(payload.sub), groups: [...entry.groups] }, workload: user };
    }
    throw lastError!;
  }

  #discover(issuer: string): Promise<Discovery> {
    let doc = this.#discovery.get(issuer);
    if (!doc) {
      doc = (async () => {
        let res: Response;
        try {
          res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
        } catch (cause) {
          throw new GatekitError('IDP_UNREACHABLE', `cannot reach ${issuer} for its discovery document`, { cause });
        }
        const body = await res.json().catch(() => ({})) as Discovery;
        if (!res.ok || body.issuer !== issuer || !body.jwks_uri) throw new GatekitError('IDP_UNREACHABLE', `${issuer} has no usable discovery document`);
        return body;
      })();
      doc.catch(() => this.#discovery.delete(issuer));
      this.#discovery.set(issuer, doc);
    }
    return doc;
  }

  #keys(doc: Discovery) {
    let set = this.#jwks.get(doc.jwks_uri);
    if (!set) { set = createRemoteJWKSet(new URL(doc.jwks_uri)); this.#jwks.set(doc.jwks_uri, set) }
    return set;
  }
}

function fill(entry: WorkloadTrust, claims: JWTPayload): string {
  return entry.user.replace(/\{(\w+)\}/g, (_, name: string) => String(claims[name] ?? ''));
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ERR_JWT_EXPIRED') return 'expired';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return `claim "${(err as { claim?: string }).claim}" is wrong`;
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED' || code === 'ERR_JOSE_NOT_SUPPORTED') return 'algorithm not allowed';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') return 'signature does not verify with the issuer\'s keys';
  return code || 'malformed';
}
