import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditEvent } from '../audit/index.js';
import type { Config, ServerConfig } from '../config/index.js';
import type { RateLimiter } from '../policy/index.js';
import type { TrustedKeys, VerifiedTokenCache } from '../token/index.js';
import type { SessionRegistry } from './registry.js';
import type { OpenStreams } from './streams.js';
import type { RefusalTally } from './refusal-tally.js';
import type { Admitted, DoorMemory } from './door.js';
import type { Person } from '../person.js';

/** What every listener shares; replaced as a whole on SIGHUP. */
export interface DaemonState {
  readonly config: Config;
  readonly keys: TrustedKeys;
  readonly cache: VerifiedTokenCache;
  readonly sessions: SessionRegistry;
  readonly audit: (event: AuditEvent) => void;
  /** Why the audit log cannot be written (each call retries), or undefined: then every request is refused. */
  readonly auditFailure: () => string | undefined;
  /** `rate` rules' buckets (lib/policy/rate.ts), kept across reloads. */
  readonly limiter: RateLimiter;
  /** The rules' clock, in milliseconds. */
  readonly now: () => number;
  /** Open GET and listen streams, each held to its token (streams.ts), kept across reloads. */
  readonly streams: OpenStreams;
  /** Anonymous refusals (before the door let the request in), tallied per listener and minute (refusal-tally.ts). */
  readonly refusals: RefusalTally;
  /** What the door remembers (door.ts): replayed proofs, admissions; kept across reloads. */
  readonly door: DoorMemory;
}

/**
 * One request on its way through the steps (lib/daemon/handler.ts). Each step reads what the ones before it
 * settled and throws a GatekitError to refuse; `refuse` (steps/edge.ts) renders it and writes the audit line.
 */
export interface RequestContext {
  readonly state: DaemonState;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly server: ServerConfig;
  /** Set once the door let the request in: the verified token and the current policy's admission. */
  verified: Admitted | undefined;
  /** The person the door let in (`verified.person`). */
  caller: Person | undefined;
  /** The era the headers tell (steps/entry.ts), then as the body step classified it (lib/daemon/era). */
  era: 'session' | 'stateless' | undefined;
}
