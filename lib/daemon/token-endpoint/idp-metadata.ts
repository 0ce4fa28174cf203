import { createRemoteJWKSet } from 'jose';
import { GatekitError } from '../../errors.js';

/** The parts of an OpenID Provider's discovery document the token exchange reads (OIDC Discovery §3). */
export interface Discovery {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly userinfo_endpoint?: string;
  readonly introspection_endpoint?: string;
  readonly id_token_signing_alg_values_supported?: string[];
}

export type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

/** Asymmetric JWS algorithms only (RFC 7518 §3.1): `none` and the HMAC family never verify a subject token. */
export const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** The ID-token algorithms the issuer's discovery lists (RS256 when none, OIDC Discovery §3), asymmetric only. */
export function algorithmsOf(doc: Discovery): string[] {
  return (doc.id_token_signing_alg_values_supported ?? ['RS256']).filter((a) => ASYMMETRIC.includes(a));
}

/**
 * Discovery documents and JWKS of the configured issuers, fetched on first use and kept. Only
 * issuers named in the config are ever asked: keys never come from a token's headers.
 */
export class IdpMetadata {
  readonly #discovery = new Map<string, Promise<Discovery>>();
  readonly #jwks = new Map<string, RemoteKeys>();

  discover(issuer: string): Promise<Discovery> {
    let doc = this.#discovery.get(issuer);
    if (!doc) {
      doc = fetchDiscovery(issuer);
      doc.catch(() => this.#discovery.delete(issuer));
      this.#discovery.set(issuer, doc);
    }
    return doc;
  }

  keys(doc: Discovery): RemoteKeys {
    let set = this.#jwks.get(doc.jwks_uri);
    if (!set) {
      set = createRemoteJWKSet(new URL(doc.jwks_uri));
      this.#jwks.set(doc.jwks_uri, set);
    }
    return set;
  }
}

async function fetchDiscovery(issuer: string): Promise<Discovery> {
  let res: Response;
  try {
    res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  } catch (cause) {
    throw new GatekitError('IDP_UNREACHABLE', `cannot reach ${issuer} for its discovery document`, { cause });
  }
  const body = (await res.json().catch(() => ({}))) as Discovery;
  if (!res.ok || body.issuer !== issuer || !body.jwks_uri) {
    throw new GatekitError('IDP_UNREACHABLE', `${issuer} has no usable discovery document`);
  }
  return body;
}

export const invalidSubject = (message: string, cause?: unknown) =>
  new GatekitError('TOKEN_INVALID', message, { cause });

/** A jose failure as a short reason that quotes nothing from the token. */
export function describeJoseError(err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ERR_JWT_EXPIRED') return 'expired';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return `claim "${(err as { claim?: string }).claim}" is wrong`;
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED' || code === 'ERR_JOSE_NOT_SUPPORTED') return 'algorithm not allowed';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') {
    return "signature does not verify with the issuer's keys";
  }
  return code || 'malformed';
}
