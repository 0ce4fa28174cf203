import type { ServerConfig, ToolRules } from '../config/index.js';
import type { Person } from '../person.js';
import { matchesAny, MAX_TOOL_NAME_LENGTH } from './glob.js';

/** Who is asking, as far as admission cares: a person's name and groups. */
export type Principal = Pick<Person, 'user' | 'groups'>;

export type Decision =
  | {
      readonly allowed: true;
      readonly rule: string;
      readonly allow: readonly string[];
      readonly deny: readonly string[];
      /** Indexes of the server's [[grant]] entries that applied: a refusal names the one whose deny matched. */
      readonly grants: readonly number[];
      /** The resource URI globs with the grants' added (lib/policy/resources.ts); undefined: not governed. */
      readonly resources?: ToolRules | undefined;
      /** The prompt name globs with the grants' added; undefined: not governed. */
      readonly prompts?: ToolRules | undefined;
    }
  | {
      readonly allowed: false;
      /** The config path that refused (allow_groups when the server has groups, else allow_users). */
      readonly rule: string;
      /** Why, naming the rules but never their members: the reason reaches the person refused. */
      readonly reason: string;
    };

const SCOPE_PREFIX = 'tools:';

/**
 * Decides whether a person may use a server, and which tools. Pure: config and identity in,
 * decision out. Admission is by allow_users or allow_groups ("*" in allow_users admits anyone the
 * IdP vouches for); [[grant]] entries add tools for people already admitted; a deny anywhere wins.
 * A refusal names the lists, not who is on them: it is shown to any token holder.
 */
export function evaluate(principal: Principal, server: ServerConfig): Decision {
  const byUser = server.allow_users.includes(principal.user) || server.allow_users.includes('*');
  const group = principal.groups.find((g) => server.allow_groups.includes(g));
  const base = `servers.${server.name}`;
  if (!byUser && group === undefined) {
    const groups = principal.groups.length ? `groups [${principal.groups.join(', ')}]` : 'no groups';
    return {
      allowed: false,
      rule: `${base}.${server.allow_groups.length ? 'allow_groups' : 'allow_users'}`,
      reason:
        `${principal.user} (${groups}) is not admitted by ${base}.allow_users ` +
        `and none of their groups by ${base}.allow_groups`,
    };
  }
  const allow = [...server.tools.allow];
  const deny = [...server.tools.deny];
  const grants: number[] = [];
  server.grants.forEach((grant, i) => {
    if (grant.users.includes(principal.user) || principal.groups.some((g) => grant.groups.includes(g))) {
      grants.push(i);
      allow.push(...grant.tools.allow.filter((p) => !allow.includes(p)));
      deny.push(...grant.tools.deny.filter((p) => !deny.includes(p)));
    }
  });
  const merged = (key: 'resources' | 'prompts'): ToolRules | undefined => {
    const own = server[key];
    if (own === undefined) return undefined;
    const lists = { allow: [...own.allow], deny: [...own.deny] };
    for (const i of grants) {
      const added = server.grants[i]![key];
      lists.allow.push(...added.allow.filter((p) => !lists.allow.includes(p)));
      lists.deny.push(...added.deny.filter((p) => !lists.deny.includes(p)));
    }
    return lists;
  };
  return {
    allowed: true,
    rule: byUser ? `${base}.allow_users` : `${base}.allow_groups (${group})`,
    allow,
    deny,
    grants,
    resources: merged('resources'),
    prompts: merged('prompts'),
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
  decision: Pick<Extract<Decision, { allowed: true }>, 'allow' | 'deny'>,
): boolean {
  if (tool.length > MAX_TOOL_NAME_LENGTH) return false;
  return matchesAny(tokenPatterns, tool) && matchesAny(decision.allow, tool) && !matchesAny(decision.deny, tool);
}

/** Why a tool is refused: the config path that refused it, and a reason that names no member of any list. */
export interface ToolRefusal {
  readonly rule: string;
  readonly reason: string;
}

/**
 * The rule that refuses `tool` (undefined: it is allowed), in `gatekit policy explain`'s order: a name over the
 * cap or outside every allow list (`tools.allow`, a grant's allow), then a deny (`tools.deny`, else the first
 * applying grant's `grant[i].tools.deny`), then the token's scope (`tokenPatterns`; undefined: not checked),
 * which the broker minted from `tools.allow` — a token minted before a tool was allowed is refused by that rule.
 */
export function toolRefusal(
  tool: string,
  tokenPatterns: readonly string[] | undefined,
  decision: Extract<Decision, { allowed: true }>,
  server: ServerConfig,
): ToolRefusal | undefined {
  const base = `servers.${server.name}`;
  const shown = JSON.stringify(tool.slice(0, 100));
  if (tool.length > MAX_TOOL_NAME_LENGTH)
    return {
      rule: `${base}.tools.allow`,
      reason: `a tool name over ${MAX_TOOL_NAME_LENGTH} characters is never allowed`,
    };
  if (!matchesAny(decision.allow, tool)) return { rule: `${base}.tools.allow`, reason: `tool ${shown} is not allowed` };
  if (matchesAny(server.tools.deny, tool)) return { rule: `${base}.tools.deny`, reason: `tool ${shown} is denied` };
  const grant = decision.grants.find((i) => matchesAny(server.grants[i]?.tools.deny ?? [], tool));
  if (grant !== undefined) return { rule: `${base}.grant[${grant}].tools.deny`, reason: `tool ${shown} is denied` };
  if (tokenPatterns !== undefined && !matchesAny(tokenPatterns, tool))
    return {
      rule: `${base}.tools.allow`,
      reason: `tool ${shown} is not allowed by this token's scope: get a new token`,
    };
  return undefined;
}
