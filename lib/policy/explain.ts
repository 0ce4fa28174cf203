import type { Config } from '../config/index.js';
import { serverByName } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { evaluate, toolRefusal } from './evaluate.js';
import { judgeResource, promptRefusal, resourceArguments } from './resources.js';
import { checkCall } from './rules.js';

/** A what-if: this person, this server, optionally this tool call, resource read or prompt (at most one). */
export interface Question {
  readonly user: string;
  readonly groups: readonly string[];
  readonly server: string;
  readonly tool?: string | undefined;
  /** A resource URI to read (resources/read, resources/subscribe). */
  readonly uri?: string | undefined;
  /** A prompt to get; `args` are its arguments. */
  readonly prompt?: string | undefined;
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
  const asked = [q.tool, q.uri, q.prompt].filter((x) => x !== undefined).length;
  if (asked > 1) throw new GatekitError('USAGE', 'ask about one of a tool, a resource URI or a prompt at a time');
  const admission = evaluate({ user: q.user, groups: q.groups }, server);
  if (!admission.allowed) return { decision: 'deny', rule: admission.rule, reason: admission.reason, rules: [] };
  if (asked === 0) return { decision: 'allow', rule: admission.rule, reason: 'admitted to the server', rules: [] };
  const deny = (r: { rule: string; reason: string }): Answer => ({ ...r, decision: 'deny', rules: [] });
  let call: { kind: 'tools' | 'resources' | 'prompts'; name: string; args: unknown; what: string };
  if (q.tool !== undefined) {
    const refused = toolRefusal(q.tool, undefined, admission, server);
    if (refused) return deny(refused);
    call = { kind: 'tools', name: q.tool, args: q.args ?? {}, what: `tool "${q.tool}"` };
  } else if (q.uri !== undefined) {
    const judged = judgeResource(q.uri, admission, server);
    if ('refused' in judged) return deny(judged.refused);
    call = {
      kind: 'resources',
      name: judged.uri,
      args: resourceArguments(judged.uri),
      what: `resource "${judged.uri}"`,
    };
  } else {
    const refused = promptRefusal(q.prompt, admission, server);
    if (refused) return deny(refused);
    call = { kind: 'prompts', name: q.prompt!, args: q.args ?? {}, what: `prompt "${q.prompt}"` };
  }
  const now = Math.floor(Date.now() / 1000);
  const age = q.login_age ?? 0;
  if (!Number.isFinite(age) || age < 0)
    throw new GatekitError('USAGE', 'the login age must be a number of seconds ≥ 0');
  const verdict = checkCall(server, {
    user: q.user,
    groups: q.groups,
    kind: call.kind,
    tool: call.name,
    args: call.args,
    auth_time: now - age,
    now,
  });
  if (!verdict.allowed) return deny(verdict);
  const checked = verdict.rules.length ? `; checked against ${verdict.rules.join(', ')}` : '';
  return {
    decision: 'allow',
    rule: admission.rule,
    reason: `${call.what} is allowed${checked}`,
    rules: verdict.rules,
  };
}
