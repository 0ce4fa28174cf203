import type { ServerConfig } from '../config/index.js';
import { evaluate, toolPatternsOf, type Decision } from './evaluate.js';

/** The parts of verified token claims the policy looks at. */
export interface TokenIdentity {
  readonly user: string;
  readonly sub: string;
  readonly groups: readonly string[];
  readonly iat: number;
  readonly scope?: string | undefined;
}

export type Authorization =
  | {
      readonly allowed: true;
      readonly decision: Extract<Decision, { allowed: true }>;
      readonly tools: readonly string[];
    }
  | { readonly allowed: false; readonly rule: string; readonly reason: string; readonly revoked: boolean };

/**
 * Re-checks a verified token's holder against the *current* policy: still admitted to this server,
 * and not issued before a per-user not-before time ([daemon.not_before], keyed by user or sub).
 * Run on every request, so a config reload takes effect at once.
 */
export function authorize(
  identity: TokenIdentity,
  server: ServerConfig,
  notBefore: ReadonlyMap<string, number>,
): Authorization {
  const nbf = notBefore.get(identity.user) ?? notBefore.get(identity.sub);
  if (nbf !== undefined && identity.iat < nbf) {
    return {
      allowed: false,
      rule: 'daemon.not_before',
      reason: `tokens of ${identity.user} issued before ${new Date(nbf * 1000).toISOString()} are revoked`,
      revoked: true,
    };
  }
  const decision = evaluate(identity, server);
  if (!decision.allowed) return { allowed: false, rule: decision.rule, reason: decision.reason, revoked: false };
  return { allowed: true, decision, tools: toolPatternsOf(identity.scope) };
}
