import type { TraceContext } from '../audit/index.js';
import type { ServerConfig } from '../config/index.js';
import {
  checkCall,
  evaluate,
  judgeResource,
  mayListTemplate,
  promptRefusal,
  resourceArguments,
  usesNone,
  type Refusal as PolicyRefusal,
} from '../policy/index.js';
import { ERRORS, errorResponse } from './jsonrpc.js';
import { type RpcRequest, type RpcResponse } from '../mcp/index.js';
import type { ResultFilter } from './pending.js';
import type { Admission } from './door.js';
import { auditDenied, type GateInput } from './tool-gate.js';

/**
 * Resources and prompts under policy (issue 26 item 1), the same shape as tools: `resources/read`,
 * `resources/subscribe`, `prompts/get`, a 2026-07-28 listen's `resourceSubscriptions` and a `completion/complete`
 * whose ref the person may not use are refused (-32003, `data.rule`, one `denied` line) and never reach the child;
 * the lists are filtered. A server whose config names no resources (prompts) governs none: nothing here runs.
 */

type Answer = { readonly response: RpcResponse } | undefined;

/** One resource filter per admission, kept with the loaded config (the daemon's `LoadedState`). */
export type ResourceFilters = WeakMap<Admission, (uri: unknown) => boolean>;

/** May this person read (and hear of updates to) a resource? One function per admission, like `toolFilter`. */
export function resourceFilter(
  admission: Admission,
  server: ServerConfig,
  filters: ResourceFilters,
): ((uri: unknown) => boolean) | undefined {
  if (admission.decision.resources === undefined) return undefined;
  let filter = filters.get(admission);
  if (!filter) filters.set(admission, (filter = (uri) => 'uri' in judgeResource(uri, admission.decision, server)));
  return filter;
}

/**
 * The same test from the current config alone (a reload): what the session's owner may hear are updated, or undefined
 * when the server governs no resources.
 */
export function resourceFilterFor(
  server: ServerConfig,
  owner: { readonly user: string; readonly groups: readonly string[] },
): ((uri: unknown) => boolean) | undefined {
  const decision = evaluate(owner, server);
  if (!decision.allowed) return () => false;
  if (decision.resources === undefined) return undefined;
  return (uri) => 'uri' in judgeResource(uri, decision, server);
}

/** `resources/read` and `resources/subscribe`: the URI, then `[[servers.NAME.rule]]` on `{ uri, path }`. */
export function admitResource(gate: GateInput, request: RpcRequest, _s: unknown, trace?: TraceContext): Answer {
  const { decision } = gate.admission;
  // A rule or grant naming resources puts them under policy too (lib/config/server.ts).
  if (decision.resources === undefined) return undefined;
  const uri = request.params?.['uri'];
  const judged = judgeResource(uri, decision, gate.server);
  if ('refused' in judged) return refuse(gate, request, trace, judged.refused, { resource: uri });
  return checkRules(gate, request, trace, 'resources', judged.uri, resourceArguments(judged.uri), {
    resource: judged.uri,
  });
}

/** `prompts/get`: the name, then `[[servers.NAME.rule]]` on the prompt's arguments. */
export function admitPrompt(gate: GateInput, request: RpcRequest, _s: unknown, trace?: TraceContext): Answer {
  if (gate.admission.decision.prompts === undefined) return undefined;
  const name = request.params?.['name'];
  const refused = promptRefusal(name, gate.admission.decision, gate.server);
  if (refused) return refuse(gate, request, trace, refused, { prompt: name });
  return checkRules(gate, request, trace, 'prompts', name as string, request.params?.['arguments'], { prompt: name });
}

/** `completion/complete`: refused when its ref is a prompt, or a resource (template), the person may not use. */
export function admitCompletion(gate: GateInput, request: RpcRequest, _s: unknown, trace?: TraceContext): Answer {
  const ref = request.params?.['ref'] as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
  const { decision } = gate.admission;
  if (ref?.type === 'ref/prompt') {
    const refused = decision.prompts && promptRefusal(ref.name, decision, gate.server);
    return refused ? refuse(gate, request, trace, refused, { prompt: ref.name }) : undefined;
  }
  if (ref?.type !== 'ref/resource' || decision.resources === undefined) return undefined;
  const uri = ref.uri;
  // A ref names a template (`demo://x/{id}`) as often as a URI: a template is judged as resources/templates/list is.
  if (typeof uri === 'string' && uri.includes('{')) {
    if (mayListTemplate(uri, decision)) return undefined;
    const rule = { rule: `servers.${gate.server.name}.resources.allow`, reason: 'no URI of this template is allowed' };
    return refuse(gate, request, trace, rule, { resource: uri });
  }
  const judged = judgeResource(uri, decision, gate.server);
  return 'refused' in judged ? refuse(gate, request, trace, judged.refused, { resource: uri }) : undefined;
}

/** A 2026-07-28 `subscriptions/listen`: every URI in `resourceSubscriptions` must be one the person may read. */
export function admitListen(gate: GateInput, request: RpcRequest, _s: unknown, trace?: TraceContext): Answer {
  if (gate.admission.decision.resources === undefined) return undefined;
  const uris = (request.params?.['notifications'] as { resourceSubscriptions?: unknown } | undefined)
    ?.resourceSubscriptions;
  if (!Array.isArray(uris)) return undefined;
  for (const uri of uris) {
    const judged = judgeResource(uri, gate.admission.decision, gate.server);
    if ('refused' in judged) return refuse(gate, request, trace, judged.refused, { resource: uri });
  }
  return undefined;
}

/** The resources/list, resources/templates/list and prompts/list answers without what the person may not use. */
export function resourceListFilter(gate: GateInput): ResultFilter | undefined {
  const read = resourceFilter(gate.admission, gate.server, gate.state.resourceFilters);
  return read && keep('resources', (r) => read(r['uri']));
}
export function templateListFilter(gate: GateInput): ResultFilter | undefined {
  const { decision } = gate.admission;
  return decision.resources && keep('resourceTemplates', (t) => mayListTemplate(t['uriTemplate'], decision));
}
export function promptListFilter(gate: GateInput): ResultFilter | undefined {
  const { decision } = gate.admission;
  return decision.prompts && keep('prompts', (p) => promptRefusal(p['name'], decision, gate.server) === undefined);
}

/**
 * The server capabilities a person may use none of, as the lists say: `tools` when the token's scope or the policy's
 * allow list is empty or a deny is `*`/`**`; `resources`, `prompts` by lib/policy `usesNone`. The session-era
 * `initialize` answer and `server/discover` (era/pool.ts, which also judges the child's own tool list) omit them.
 */
export function unusableCapabilities(gate: Pick<GateInput, 'admission'>): string[] {
  const { decision, tools } = gate.admission;
  const unusable: string[] = (['resources', 'prompts'] as const).filter((kind) => usesNone(kind, decision));
  if (tools.length === 0 || decision.allow.length === 0 || decision.deny.some((p) => p === '*' || p === '**'))
    unusable.push('tools');
  return unusable;
}

/** An `initialize` answer without the capabilities the person may use none of. */
export function initializeFilter(gate: GateInput): ResultFilter | undefined {
  const unusable = unusableCapabilities(gate);
  if (unusable.length === 0) return undefined;
  return (result) => {
    const capabilities = (result as { capabilities?: unknown } | undefined)?.capabilities;
    if (typeof capabilities !== 'object' || capabilities === null) return result;
    const offered: Record<string, unknown> = { ...capabilities };
    for (const name of unusable) delete offered[name];
    return { ...(result as object), capabilities: offered };
  };
}

function keep(key: string, allowed: (item: Record<string, unknown>) => boolean): ResultFilter {
  return (result) => {
    const items = (result as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(items)) return result;
    const kept = items.filter((item) => typeof item === 'object' && item !== null && allowed(item));
    return { ...(result as object), [key]: kept };
  };
}

function checkRules(
  gate: GateInput,
  request: RpcRequest,
  trace: TraceContext | undefined,
  kind: 'resources' | 'prompts',
  name: string,
  args: unknown,
  fields: Record<string, unknown>,
): Answer {
  if (gate.server.rules.length === 0) return undefined;
  const { caller } = gate;
  const verdict = checkCall(
    gate.server,
    {
      user: caller.user,
      sub: caller.sub,
      groups: caller.groups,
      kind,
      tool: name,
      args,
      auth_time: gate.authTime,
      now: gate.state.now() / 1000,
    },
    gate.state.limiter,
  );
  if (verdict.allowed) return undefined;
  const refused = refuse(gate, request, trace, verdict, fields);
  if (verdict.kind === 'rate')
    return { response: withData(refused.response, { retry_after: verdict.retry_after }, ERRORS.RATE_LIMITED) };
  if (verdict.kind === 'fresh_login')
    return {
      response: withData(refused.response, { error: 'insufficient_user_authentication', max_age: verdict.max_age }),
    };
  return refused;
}

function withData(response: RpcResponse, data: Record<string, unknown>, code?: number): RpcResponse {
  const error = response.error!;
  return { ...response, error: { ...error, code: code ?? error.code, data: { ...(error.data as object), ...data } } };
}

/** -32003 naming the rule, and one `denied` line (the resource or prompt, never the arguments). */
function refuse(
  gate: GateInput,
  request: RpcRequest,
  trace: TraceContext | undefined,
  refused: PolicyRefusal,
  fields: Record<string, unknown>,
): { response: RpcResponse } {
  const why = `${refused.rule}: ${refused.reason}`;
  const shown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') shown[k] = v.slice(0, 200);
  auditDenied(gate, request, trace, { ...shown, error: why, rule: refused.rule });
  return { response: errorResponse(request.id, ERRORS.DENIED, why, { rule: refused.rule }) };
}
