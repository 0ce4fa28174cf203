import type { Config } from '../config/index.js';
import { serverByName } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { evaluate, toolRefusal } from './evaluate.js';
import { checkCall } from './rules.js';

/** A what-if: this person, this server, optionally this tool call. */
export interface Question {
  readonly user: string;
  readonly groups: readonly string[];
  readonly server: string;
  readonly tool?: string | undefined;
  readonly args?: unknown;
  /** Seconds since the person logged in (for `fresh_login`); 0 when not given. */
  readonly login_age?: number | undefined;
}

export interface Answer {
  readonly decision: 'allow' | 'deny';
  /** The key that decided: the admission rule, a tools list, or a `[[servers.NAME.rule]]` check. */
  readonly rule: string;
  readonly reason: string;
  /** For an allowed call: the `[[servers.NAME.rule]]` entries it was checked against. */
  readonly rules: readonly string[];
}

/**
 * The daemon's decision for a question, from the config alone, as `gatekit policy explain` and
 * `gatekit policy test` print it. A token's scope is taken to be what the broker would mint now;
 * `rate` limits are not counted (they depend on traffic).
 */
export function explain(config: Config, q: Question): Answer {
  const server = serverByName(config, q.server);
  const admission = evaluate({ user: q.user, groups: q.groups }, server);
  if (!admission.allowed) return { decision: 'deny', rule: admission.rule, reason: admission.reason, rules: [] };
  if (q.tool === undefined)
    return { decision: 'allow', rule: admission.rule, reason: 'admitted to the server', rules: [] };
  const refused = toolRefusal(q.tool, undefined, admission, server);
  if (refused) return { decision: 'deny', rule: refused.rule, reason: refused.reason, rules: [] };
  const now = Math.floor(Date.now() / 1000);
  const age = q.login_age ?? 0;
  if (!Number.isFinite(age) || age < 0)
    throw new GatekitError('USAGE', 'the login age must be a number of seconds ≥ 0');
  const verdict = checkCall(server, {
    user: q.user,
    groups: q.groups,
    tool: q.tool,
    args: q.args ?? {},
    auth_time: now - age,
    now,
  });
  if (!verdict.allowed) return { decision: 'deny', rule: verdict.rule, reason: verdict.reason, rules: [] };
  const checked = verdict.rules.length ? `; checked against ${verdict.rules.join(', ')}` : '';
  return {
    decision: 'allow',
    rule: admission.rule,
    reason: `tool "${q.tool}" is allowed${checked}`,
    rules: verdict.rules,
  };
}
