import { posix } from 'node:path';
import type { ArgumentRule, ServerConfig, ToolRule } from '../config/index.js';
import type { Person } from '../person.js';
import { globMatch, matchesAny } from './glob.js';
import type { RateLimiter } from './rate.js';
import { uriGlobMatch } from './uri-glob.js';

/** Longer paths are refused: no file system takes them (Linux PATH_MAX). */
const PATH_MAX = 4096;

/** One tool call (or resource read, or prompt get) as the rules see it: the person's name, sub and groups, what is
 * used. Times are seconds since the epoch. */
export interface Call extends Pick<Person, 'user' | 'groups'> {
  readonly sub?: string | undefined;
  /** What is used: a tool (the default), a resource (`tool` is its normal URI) or a prompt (`tool` is its name). */
  readonly kind?: 'tools' | 'resources' | 'prompts';
  readonly tool: string;
  readonly args: unknown;
  readonly auth_time: number | undefined;
  readonly now: number;
}

type RuleKind = 'args' | 'schema' | 'rate' | 'fresh_login';

export type Verdict =
  | { readonly allowed: true; readonly rules: readonly string[] }
  | {
      readonly allowed: false;
      /** The key that refused, e.g. `servers.fs.rule[0].args.path.path_under`. */
      readonly rule: string;
      readonly kind: RuleKind;
      /** Why, never quoting the argument's value (arguments stay out of errors and logs). */
      readonly reason: string;
      /** Rate: seconds until the call may be retried. */
      readonly retry_after?: number;
      /** Fresh login: the most seconds since the person last authenticated. */
      readonly max_age?: number;
    };

/** The rules that apply to this person and use: every rule whose globs and people match, in config order. */
function applicableRules(server: ServerConfig, call: Pick<Call, 'user' | 'groups' | 'tool' | 'kind'>): ToolRule[] {
  const kind = call.kind ?? 'tools';
  const names = (r: ToolRule) =>
    kind === 'resources' ? r.resources.some((g) => uriGlobMatch(g, call.tool)) : matchesAny(r[kind], call.tool);
  return server.rules.filter((r) => names(r) && forPerson(r, call));
}

function forPerson(rule: ToolRule, who: Pick<Call, 'user' | 'groups'>): boolean {
  if (rule.users.length === 0 && rule.groups.length === 0) return true;
  return rule.users.includes(who.user) || who.groups.some((g) => rule.groups.includes(g));
}

/**
 * Checks a tool call against `[[servers.NAME.rule]]`: every applicable rule must pass. Argument,
 * schema and fresh-login checks come first; only a call that passes them all is counted against
 * the rate limits (so refused calls cost nothing). Pure but for `limiter`; without one, rates are
 * reported as passing (what `gatekit policy explain` does).
 */
export function checkCall(server: ServerConfig, call: Call, limiter?: RateLimiter): Verdict {
  const rules = applicableRules(server, call);
  for (const rule of rules) {
    const refused = checkArguments(rule, call.args) ?? checkFresh(rule, call);
    if (refused) return refused;
  }
  if (limiter) {
    const limited = rules.filter((r) => r.rate);
    // Per rule and person, not per tool name: calls to other names the rule's globs match share its budget.
    const person = call.sub ?? call.user;
    const key = (r: ToolRule) => `${server.name}\0${r.key}\0${person}`;
    for (const rule of limited) {
      const wait = limiter.wait(key(rule), rule.rate!, call.now, person);
      if (wait > 0) {
        const retry = Math.max(1, Math.ceil(wait));
        return {
          allowed: false,
          rule: `${rule.key}.rate`,
          kind: 'rate',
          retry_after: retry,
          reason: `more than ${rule.rate!.text} calls under this rule; retry in ${retry}s`,
        };
      }
    }
    for (const rule of limited) limiter.take(key(rule), rule.rate!, call.now, person);
  }
  return { allowed: true, rules: rules.map((r) => r.key) };
}

function checkFresh(rule: ToolRule, call: Call): Verdict | undefined {
  if (rule.fresh_login === undefined) return undefined;
  if (call.auth_time !== undefined && call.now - call.auth_time <= rule.fresh_login) return undefined;
  return {
    allowed: false,
    rule: `${rule.key}.fresh_login`,
    kind: 'fresh_login',
    max_age: rule.fresh_login,
    reason: `this ${{ tools: 'tool', resources: 'resource', prompts: 'prompt' }[call.kind ?? 'tools']} needs a login within the last ${rule.fresh_login}s; log in again`,
  };
}

function checkArguments(rule: ToolRule, args: unknown): Verdict | undefined {
  const names = Object.keys(rule.args);
  if (names.length === 0 && !rule.schema) return undefined;
  const deny = (rule: string, reason: string): Verdict => ({ allowed: false, rule, kind: 'args', reason });
  const object = args === undefined ? {} : args;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return deny(`${rule.key}.args`, 'the arguments are not an object');
  }
  for (const name of names) {
    const key = `${rule.key}.args.${name}`;
    if (!Object.hasOwn(object, name)) return deny(key, `argument "${name}" is required by this rule`);
    const failed = checkArgument(rule.args[name]!, (object as Record<string, unknown>)[name]);
    if (failed) return deny(`${key}.${failed[0]}`, `argument "${name}" ${failed[1]}`);
  }
  const schemaFailure = rule.schema?.(object);
  if (schemaFailure) {
    return {
      allowed: false,
      rule: `${rule.key}.schema`,
      kind: 'schema',
      reason: `the arguments break the schema at ${schemaFailure.path.slice(0, 200)}: ${schemaFailure.message}`,
    };
  }
  return undefined;
}

/** The first failing check as [key, why], or undefined. */
function checkArgument(rule: ArgumentRule, value: unknown): [keyof ArgumentRule, string] | undefined {
  if (rule.max_length !== undefined) {
    if (typeof value !== 'string') return ['max_length', 'is not a string'];
    if (value.length > rule.max_length) return ['max_length', `is longer than ${rule.max_length} characters`];
  }
  if (rule.enum !== undefined && !rule.enum.some((v) => v === value))
    return ['enum', 'is not one of the allowed values'];
  if (rule.pattern !== undefined) {
    if (typeof value !== 'string') return ['pattern', 'is not a string'];
    if (!rule.pattern.some((p) => globMatch(p, value))) return ['pattern', 'does not match the allowed patterns'];
  }
  if (rule.path_under !== undefined) {
    const why = pathOutside(rule.path_under, value);
    if (why) return ['path_under', why];
  }
  return undefined;
}

/**
 * Why `value` is not a path under one of `roots`, or undefined when it is. Lexical: the string is
 * judged as written, never looked up on disk. It must be absolute (a relative path or `~` depends
 * on the server's working directory and shell), free of NUL bytes and of `..` segments (the kernel
 * resolves `..` after following symlinks, which no lexical check can see); `//`, `.` and a trailing
 * `/` are normalised away. `/srv/shared2` is not under `/srv/shared`.
 */
function pathOutside(roots: readonly string[], value: unknown): string | undefined {
  if (typeof value !== 'string') return 'is not a string';
  if (value.length > PATH_MAX) return `is longer than ${PATH_MAX} characters`;
  if (value.includes('\0')) return 'contains a NUL byte';
  if (!value.startsWith('/')) return 'is not an absolute path';
  if (value.split('/').includes('..')) return 'contains a ".." segment';
  const path = posix.normalize(value);
  const normal = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const inside = roots.some((root) => root === '/' || normal === root || normal.startsWith(`${root}/`));
  return inside ? undefined : `is not under ${roots.join(', ')}`;
}
