import type { Person } from '../person.js';

/** The person a token speaks for, as the broker learned it from the identity provider, and when they last logged in. */
export interface Identity extends Person {
  readonly auth_time?: number | undefined;
}

/** RFC 9068 §2.2 access-token claims as Gatekit mints them. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly scope: string;
  readonly groups: readonly string[];
  readonly auth_time?: number;
  /** RFC 8705 `x5t#S256` (a client certificate) or RFC 9449 `jkt` (a DPoP key): one of the two. */
  readonly cnf?: { readonly 'x5t#S256'?: string; readonly jkt?: string };
  readonly [claim: string]: unknown;
}

/** Claims a configured user_claim may not shadow. */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'client_id',
  'scope',
  'groups',
  'auth_time',
  'cnf',
  'acr',
  'amr',
]);

/** The person's readable name from a verified token, by the configured claim (falls back to sub). */
export function userOf(claims: AccessTokenClaims, userClaim: string): string {
  const v = claims[userClaim];
  return typeof v === 'string' && v !== '' ? v : claims.sub;
}
