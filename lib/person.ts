/**
 * One person as Gatekit knows them, in one shape from the token that names them to policy, the child's environment
 * (GATEKIT_USER, GATEKIT_SUB, GATEKIT_GROUPS) and the audit line. A ground-floor type: every folder may use it.
 */
export interface Person {
  /** The value of `[idp] user_claim` (e.g. an email), else `sub`: what policy rules and audit lines name. */
  readonly user: string;
  readonly sub: string;
  readonly groups: readonly string[];
  /** The access token they came with, by its id (never the token itself); none before one is issued. */
  readonly jti?: string | undefined;
}
