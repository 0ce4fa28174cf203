import { createHash } from 'node:crypto';
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { Config, WorkloadTrust } from '../../config/index.js';
import { GatekitError } from '../../errors.js';
import { globMatch } from '../../policy/index.js';
import { identityFromClaims, type Identity } from '../../token/index.js';
import { introspectAccessToken, verifyJwtAccessToken } from './access-token.js';
import { verifyIdToken } from './id-token.js';
import {
  algorithmsOf,
  describeJoseError,
  IdpMetadata,
  invalidSubject as invalid,
  type Discovery,
} from './idp-metadata.js';
import { ReplayGuard } from './replay.js';
import { TOKEN_TYPES } from '../../token/index.js';

const USERINFO_TTL_MS = 60_000;

/** Who a subject token speaks for, and how the audit log should name them. */
export interface Subject {
  readonly identity: Identity;
  readonly workload?: string | undefined;
}

/**
 * Verifies RFC 8693 subject tokens for the daemon: an ID token as OIDC Core §3.1.3.7 asks
 * (lib/daemon/token-endpoint/id-token.ts); an IdP access token only when `[daemon] accept_access_tokens`
 * allows it and only once it is proven issued to our client (lib/daemon/token-endpoint/access-token.ts);
 * a CI workload JWT against a `[[trust.workload]]` entry, each `jti` once. Keys and discovery
 * come only from configured issuers, never from the token.
 */
export class SubjectVerifier {
  readonly #config: Config;
  readonly #metadata = new IdpMetadata();
  readonly #userinfo = new Map<string, { claims: Record<string, unknown>; until: number }>();
  readonly #replays: ReplayGuard;

  constructor(config: Config, replays = new ReplayGuard()) {
    this.#config = config;
    this.#replays = replays;
  }

  async verify(token: string, type: string): Promise<Subject> {
    if (token.length > 16_384) throw invalid('subject_token too large');
    if (type === TOKEN_TYPES.id_token) return { identity: this.#person(await this.#idToken(token)) };
    if (type === TOKEN_TYPES.access_token) return { identity: this.#person(await this.#accessToken(token)) };
    if (type === TOKEN_TYPES.jwt) return this.#workload(token);
    throw new GatekitError(
      'BAD_REQUEST',
      `unsupported subject_token_type; use ${Object.values(TOKEN_TYPES).join(', ')}`,
    );
  }

  #idp() {
    const idp = this.#config.idp;
    if (!idp || idp.kind !== 'oidc')
      throw invalid('this daemon trusts no OpenID provider for people ([idp] is not an OpenID provider)');
    return idp;
  }

  async #idToken(token: string): Promise<JWTPayload> {
    const idp = this.#idp();
    const doc = await this.#metadata.discover(idp.issuer);
    return verifyIdToken(token, doc, this.#metadata.keys(doc), {
      issuer: idp.issuer,
      clientId: idp.client_id,
      maxAge: this.#config.daemon.id_token_max_age,
    });
  }

  async #accessToken(token: string): Promise<Record<string, unknown>> {
    const mode = this.#config.daemon.accept_access_tokens;
    if (mode === 'off') throw invalid('this daemon accepts no IdP access tokens; send an ID token');
    const idp = this.#idp();
    const doc = await this.#metadata.discover(idp.issuer);
    const client = { issuer: idp.issuer, clientId: idp.client_id, clientSecret: idp.client_secret };
    const proven =
      mode === 'jwt'
        ? await verifyJwtAccessToken(token, this.#metadata.keys(doc), client)
        : await introspectAccessToken(token, doc, client);
    if (typeof proven[idp.user_claim] === 'string') return proven;
    // Proven ours, but without the person's name: userinfo fills it in, for the same subject only.
    const claims = await this.#userinfoOf(token, doc);
    if (claims['sub'] !== proven['sub']) throw invalid('userinfo names another subject than the access token');
    return { ...proven, ...claims };
  }

  async #userinfoOf(token: string, doc: Discovery): Promise<Record<string, unknown>> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.#userinfo.get(key);
    if (hit && hit.until > Date.now()) return hit.claims;
    if (!doc.userinfo_endpoint) throw invalid('the access token does not name the person, and the IdP has no userinfo');
    let res: Response;
    try {
      res = await fetch(doc.userinfo_endpoint, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(5000),
      });
    } catch (cause) {
      throw new GatekitError('IDP_UNREACHABLE', "cannot reach the identity provider's userinfo endpoint", { cause });
    }
    if (!res.ok)
      throw invalid(`the identity provider did not accept the access token (userinfo answered ${res.status})`);
    const claims = (await res.json().catch(() => ({}))) as Record<string, unknown>;
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
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw invalid('the subject token is not a JWT');
    }
    const entries = this.#config.workloads.filter((w) => w.issuer === iss);
    if (!entries.length) throw invalid("no [[trust.workload]] trusts the workload token's issuer");
    const doc = await this.#metadata.discover(entries[0]!.issuer);
    let lastError: GatekitError | undefined;
    for (const entry of entries) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, this.#metadata.keys(doc), {
          issuer: entry.issuer,
          audience: entry.audience,
          algorithms: algorithmsOf(doc),
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        }));
      } catch (err) {
        lastError = invalid(`the workload token is not valid: ${describeJoseError(err)}`, err);
        continue;
      }
      const failed = Object.entries(entry.claims).find(
        ([claim, pattern]) => typeof payload[claim] !== 'string' || !globMatch(pattern, payload[claim] as string),
      );
      if (failed) {
        lastError = invalid(`the workload's ${failed[0]} does not match [[trust.workload]] (${entry.issuer})`);
        continue;
      }
      this.#replays.use(`${entry.issuer} ${String(payload.jti)}`, payload.exp!);
      const user = fill(entry, payload);
      return { identity: { user, sub: String(payload.sub), groups: [...entry.groups] }, workload: user };
    }
    throw lastError!;
  }
}

function fill(entry: WorkloadTrust, claims: JWTPayload): string {
  return entry.user.replace(/\{(\w+)\}/g, (_, name: string) => String(claims[name] ?? ''));
}
