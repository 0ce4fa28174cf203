import type { TraceContext } from '../audit/index.js';
import type { ResponseSink } from './exchange.js';
import type { RpcId } from '../mcp/index.js';
import type { Person } from '../person.js';

/** What of a child's result a person may see (lib/daemon/method-gates.ts `results`): the result, or less of it. */
export type ResultFilter = (result: unknown) => unknown;

/** A request the child has not answered yet, keyed by its session-unique child id (session.ts). */
export interface Pending {
  readonly id: RpcId;
  readonly exchange: ResponseSink;
  /** performance.now(), for duration_ms. */
  readonly started: number;
  /** Date.now(), for the hang watchdog (the same clock as the child's lastOutput). */
  readonly since: number;
  readonly method: string;
  readonly tool: string | undefined;
  readonly caller: Person;
  /** What of the result the client may see (the gate's), applied before it goes out. */
  readonly results: ResultFilter | undefined;
  readonly progressToken: string | number | undefined;
  /** Only when the server sets audit_arguments. */
  readonly arguments: unknown;
  /** tools/call: SHA-256 of the RFC 8785 form of the arguments. */
  readonly argsDigest: string | undefined;
  readonly trace: TraceContext | undefined;
}
