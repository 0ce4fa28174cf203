import type { ServerConfig } from '../config/index.js';
import type { Person } from '../person.js';
import { evaluate, toolPatternsOf, type Decision } from './evaluate.js';

/** What the policy reads of the token a person came with: when it was issued, and its scope. */
export interface TokenFacts {
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
  person: Person,
  token: TokenFacts,
  server: ServerConfig,
  notBefore: ReadonlyMap<string, number>,
): Authorization {
  const nbf = notBefore.get(person.user) ?? notBefore.get(person.sub);
  if (nbf !== undefined && token.iat < nbf) {
    return {
      allowed: false,
      rule: 'daemon.not_before',
      reason: `tokens of ${person.user} issued before ${new Date(nbf * 1000).toISOString()} are revoked`,
      revoked: true,
    };
  }
  const decision = evaluate(person, server);
  if (!decision.allowed) return { allowed: false, rule: decision.rule, reason: decision.reason, revoked: false };
  return { allowed: true, decision, tools: toolPatternsOf(token.scope) };
}
