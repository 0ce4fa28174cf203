import type { ServerConfig } from '../config/index.js';
import type { Decision } from './evaluate.js';
import { matchesAny, MAX_TOOL_NAME_LENGTH } from './glob.js';
import { normaliseUri, templatePrefix } from '../mcp/index.js';
import { uriGlobCovers, uriGlobMatch, uriGlobMayMatch } from './uri-glob.js';

type Admitted = Pick<Extract<Decision, { allowed: true }>, 'grants' | 'resources' | 'prompts'>;

/** Why a resource or prompt is refused: the config path that refused it, and why (never a list's members). */
export interface Refusal {
  readonly rule: string;
  readonly reason: string;
}

/** A resource URI the policy judged: refused, or allowed in its normal form (what `[[rule]]` checks see). */
export type ResourceVerdict = { readonly refused: Refusal } | { readonly uri: string };

const shown = (value: string): string => JSON.stringify(value.slice(0, 200));

/**
 * Judges a resource URI (resources/read, resources/subscribe, a listen's subscription, a completion's ref) in its
 * normal form (lib/policy/uri.ts): one that cannot be normalised is refused by `servers.NAME.resources`, then the
 * URI must match an allow glob (`resources.allow`, a grant's) and no deny (`resources.deny`, a grant's).
 * A server without resource lists governs nothing: every URI is allowed as written.
 */
export function judgeResource(uri: unknown, decision: Admitted, server: ServerConfig): ResourceVerdict {
  const lists = decision.resources;
  if (lists === undefined) return { uri: typeof uri === 'string' ? uri : '' };
  const base = `servers.${server.name}.resources`;
  const normal = normaliseUri(uri);
  if ('why' in normal) {
    const what = typeof uri === 'string' ? `resource URI ${shown(uri)}` : 'the resource URI';
    return { refused: { rule: base, reason: `${what} ${normal.why}` } };
  }
  const match = (globs: readonly string[]) => globs.some((g) => uriGlobMatch(g, normal.uri));
  if (!match(lists.allow))
    return { refused: { rule: `${base}.allow`, reason: `resource ${shown(normal.uri)} is not allowed` } };
  if (match(server.resources?.deny ?? []))
    return { refused: { rule: `${base}.deny`, reason: `resource ${shown(normal.uri)} is denied` } };
  const grant = decision.grants.find((i) => match(server.grants[i]?.resources.deny ?? []));
  if (grant !== undefined)
    return {
      refused: {
        rule: `servers.${server.name}.grant[${grant}].resources.deny`,
        reason: `resource ${shown(normal.uri)} is denied`,
      },
    };
  return { uri: normal.uri };
}

/**
 * May a resource template be listed? Its literal start (before the first `{`) must be one some allow glob could
 * still match, and no deny glob may match everything that starts with it. Only a listing rule: every URI read from
 * it is judged on its own.
 */
export function mayListTemplate(uriTemplate: unknown, decision: Admitted): boolean {
  const lists = decision.resources;
  if (lists === undefined) return true;
  if (typeof uriTemplate !== 'string') return false;
  const prefix = templatePrefix(uriTemplate);
  const normal = normaliseUri(prefix === '' ? 'x:' : prefix);
  if ('why' in normal) return false;
  const start = prefix === '' ? '' : normal.uri;
  return lists.allow.some((g) => uriGlobMayMatch(g, start)) && !lists.deny.some((g) => uriGlobCovers(g, start));
}

/**
 * The rule that refuses prompt `name` (undefined: allowed): a name over the cap or outside every allow list
 * (`prompts.allow`, a grant's), then a deny (`prompts.deny`, else the first applying grant's). A server without
 * prompt lists governs nothing.
 */
export function promptRefusal(name: unknown, decision: Admitted, server: ServerConfig): Refusal | undefined {
  const lists = decision.prompts;
  if (lists === undefined) return undefined;
  const base = `servers.${server.name}`;
  if (typeof name !== 'string') return { rule: `${base}.prompts.allow`, reason: 'no prompt name' };
  if (name.length > MAX_TOOL_NAME_LENGTH)
    return { rule: `${base}.prompts.allow`, reason: `a prompt name over ${MAX_TOOL_NAME_LENGTH} characters` };
  if (!matchesAny(lists.allow, name))
    return { rule: `${base}.prompts.allow`, reason: `prompt ${shown(name)} is not allowed` };
  if (matchesAny(server.prompts?.deny ?? [], name))
    return { rule: `${base}.prompts.deny`, reason: `prompt ${shown(name)} is denied` };
  const grant = decision.grants.find((i) => matchesAny(server.grants[i]?.prompts.deny ?? [], name));
  if (grant !== undefined)
    return { rule: `${base}.grant[${grant}].prompts.deny`, reason: `prompt ${shown(name)} is denied` };
  return undefined;
}

/**
 * Whether the person may use no resource (prompt) of the server at all, by the lists alone: they govern it, and
 * their allow list (with the grants') is empty or a deny covers everything (a resource deny `**`, a prompt deny `*`
 * or `**`).
 * A policy that allows names the child does not have is not judged here: only what the lists say for every name.
 */
export function usesNone(kind: 'resources' | 'prompts', decision: Admitted): boolean {
  const lists = decision[kind];
  if (lists === undefined) return false;
  if (lists.allow.length === 0) return true;
  return kind === 'prompts'
    ? lists.deny.some((p) => p === '*' || p === '**')
    : lists.deny.some((g) => uriGlobCovers(g, ''));
}

/**
 * The arguments `[[servers.NAME.rule]]` checks see for a resource: `uri` (the normal form) and, for a `file:` URI
 * without a host (or `localhost`), `path` (its decoded path), so `path_under` works as for a tool's path.
 */
export function resourceArguments(uri: string): Record<string, string> {
  const m = /^file:\/\/(?:localhost)?(\/[^?#]*)/.exec(uri);
  return m ? { uri, path: m[1]! } : { uri };
}
