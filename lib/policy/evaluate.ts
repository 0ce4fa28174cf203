import type { ServerConfig } from '../config/index.js';
import { matchesAny, MAX_TOOL_NAME_LENGTH } from './glob.js';

/** Who is asking, as far as policy cares. */
export interface Principal {
  readonly user: string;
  readonly groups: readonly string[];
}

export type Decision =
  | {
      readonly allowed: true;
      readonly rule: string;
      readonly allow: readonly string[];
      readonly deny: readonly string[];
    }
  | { readonly allowed: false; readonly reason: string };

const SCOPE_PREFIX = 'tools:';

/**
 * Decides whether a person may use a server, and which tools. Pure: config and identity in,
 * decision out. Admission is by allow_users or allow_groups ("*" in allow_users admits anyone the
 * IdP vouches for); [[grant]] entries add tools for people already admitted; a deny anywhere wins.
 */
export function evaluate(principal: Principal, server: ServerConfig): Decision {
  const byUser = server.allow_users.includes(principal.user) || server.allow_users.includes('*');
  const group = principal.groups.find((g) => server.allow_groups.includes(g));
  if (!byUser && group === undefined) {
    const groups = principal.groups.length ? `groups [${principal.groups.join(', ')}]` : 'no groups';
    return {
      allowed: false,
      reason:
        `${principal.user} (${groups}) is not in servers.${server.name}.allow_users [${server.allow_users.join(', ')}] ` +
        `and none of their groups is in servers.${server.name}.allow_groups [${server.allow_groups.join(', ')}]`,
    };
  }
  const allow = [...server.tools.allow];
  const deny = [...server.tools.deny];
  for (const grant of server.grants) {
    if (grant.users.includes(principal.user) || principal.groups.some((g) => grant.groups.includes(g))) {
      allow.push(...grant.tools.allow.filter((p) => !allow.includes(p)));
      deny.push(...grant.tools.deny.filter((p) => !deny.includes(p)));
    }
  }
  return {
    allowed: true,
    rule: byUser ? `servers.${server.name}.allow_users` : `servers.${server.name}.allow_groups (${group})`,
    allow,
    deny,
  };
}

/** The token `scope` for an admitted person: one `tools:<glob>` per allowed pattern. */
export function scopeFor(decision: Extract<Decision, { allowed: true }>): string {
  return decision.allow.map((p) => `${SCOPE_PREFIX}${p}`).join(' ');
}

/** The tool patterns a token's scope grants. */
export function toolPatternsOf(scope: string | undefined): string[] {
  if (!scope) return [];
  return scope
    .split(' ')
    .filter((s) => s.startsWith(SCOPE_PREFIX))
    .map((s) => s.slice(SCOPE_PREFIX.length));
}

/**
 * May this tool be called? Only if the token's scope grants it AND the current policy allows it
 * and does not deny it: a token never outlives a policy change. A name longer than
 * MAX_TOOL_NAME_LENGTH is never allowed, so no name can make matching expensive.
 */
export function isToolAllowed(
  tool: string,
  tokenPatterns: readonly string[],
  decision: Extract<Decision, { allowed: true }>,
): boolean {
  if (tool.length > MAX_TOOL_NAME_LENGTH) return false;
  return matchesAny(tokenPatterns, tool) && matchesAny(decision.allow, tool) && !matchesAny(decision.deny, tool);
}
