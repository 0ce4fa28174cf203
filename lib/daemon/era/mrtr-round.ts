import type { ResponseSink } from '../exchange.js';
import { narrowed, type Admitted } from '../gate.js';
import { ERRORS } from '../jsonrpc.js';
import { ENVELOPE_KEYS, type RpcRequest } from '../../mcp/index.js';
import type { Session } from '../session.js';
import { nameOf, StatelessCall, type WaitingCalls } from './mrtr.js';
import type { Person } from '../../person.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const ROUND_KEYS = ['requestState', 'inputResponses'];

/** Why a stateless round is refused: the handler answers with it and audits it. */
export interface RoundRefusal {
  readonly code: number;
  readonly message: string;
  readonly denied: boolean;
}

/**
 * Serves one 2026-07-28 request on `session`, the person's pooled child. A first round is handed to
 * `forward` with the sink that turns server requests into `input_required`; a retry resumes the call
 * its `requestState` names — only for the same person, server, child, method and name.
 */
export function statelessRound(
  session: Session,
  request: Admitted<RpcRequest>,
  exchange: ResponseSink,
  caller: Person,
  forward: (request: Admitted<RpcRequest>, sink: ResponseSink) => void,
  waiting: WaitingCalls,
): RoundRefusal | undefined {
  const { requestState, inputResponses } = request.params ?? {};
  const refuse = (message: string, code: number = ERRORS.INVALID_PARAMS, denied = false) => ({
    code,
    message,
    denied,
  });
  if (requestState === undefined) {
    if (inputResponses !== undefined) return refuse('inputResponses without requestState');
    const call = new StatelessCall(session, request, exchange, caller.sub, waiting);
    // A session-era child reads neither the round's keys nor the 2026-07-28 envelope.
    return void forward(narrowed(request, ROUND_KEYS, ENVELOPE_KEYS), call);
  }
  const call = typeof requestState === 'string' ? waiting.waitingFor(requestState) : undefined;
  if (!call) return refuse('unknown or expired requestState');
  if (call.sub !== caller.sub || call.session.server.name !== session.server.name)
    return refuse('this requestState belongs to another person or server', ERRORS.DENIED, true);
  if (call.session !== session) return refuse('unknown or expired requestState');
  if (call.method !== request.method || call.name !== nameOf(request))
    return refuse('this requestState belongs to another request');
  if (inputResponses !== undefined && (!isObject(inputResponses) || !Object.values(inputResponses).every(isObject)))
    return refuse('inputResponses must map input request ids to results');
  call.resume(exchange, request, (inputResponses as Record<string, unknown> | undefined) ?? {});
  return undefined;
}
