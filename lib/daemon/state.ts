import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditEvent } from '../audit/index.js';
import type { Config, ServerConfig } from '../config/index.js';
import type { RateLimiter } from '../policy/index.js';
import type { Lock } from '../pins/index.js';
import type { TrustedKeys, VerifiedTokenCache } from '../token/index.js';
import type { StatelessPool, WaitingCalls } from './era/index.js';
import type { SessionRegistry } from './registry.js';
import type { OpenStreams } from './streams.js';
import type { RefusalTally } from './refusal-tally.js';
import type { Admitted, DoorMemory } from './door.js';
import type { Person } from '../person.js';
import type { ListenerNames } from './origin.js';
import type { ToolFilters } from './tool-gate.js';
import type { ResourceFilters } from './resource-gate.js';

/**
 * What a reload replaces as a whole (SIGHUP, `Daemon.reload`): everything made from one loaded config. Nothing in
 * it outlives the next reload, so a changed policy, key set or lock applies from the next request on.
 */
export interface LoadedState {
  readonly config: Config;
  readonly keys: TrustedKeys;
  /** Tokens verified against these keys (lib/token); new keys verify every token anew. */
  readonly cache: VerifiedTokenCache;
  /** Which resources each admission may read (resource-gate.ts `resourceFilter`). */
  readonly resourceFilters: ResourceFilters;
  /** The tool filter of each admission (tool-gate.ts `toolFilter`). */
  readonly toolFilters: ToolFilters;
  /** Each server's Host and Origin names (origin.ts), made from its `listen`. */
  readonly names: ReadonlyMap<string, ListenerNames>;
  /** gatekit.lock as read with this config (lib/pins): every child judges its tools by the current one. */
  readonly lock: Lock;
}

/**
 * What lives as long as the daemon: made once by `startDaemon`, kept across reloads, shared with no other daemon
 * in the process (nothing in lib/daemon is held at module level).
 */
export interface ProcessState {
  readonly sessions: SessionRegistry;
  /** 2026-07-28 requests' pooled children and the calls waiting for their next round (lib/daemon/era). */
  readonly pool: StatelessPool;
  readonly waiting: WaitingCalls;
  readonly audit: (event: AuditEvent) => void;
  /** Why the audit log cannot be written (each call retries), or undefined: then every request is refused. */
  readonly auditFailure: () => string | undefined;
  /** `rate` rules' buckets (lib/policy/rate.ts): a reload resets no one's budget. */
  readonly limiter: RateLimiter;
  /** The rules' clock, in milliseconds. */
  readonly now: () => number;
  /** Open GET and listen streams, each held to its token (streams.ts), re-admitted on reload. */
  readonly streams: OpenStreams;
  /** Answers that stay open until their session or child ends (`subscriptions/listen`): a drain does not wait. */
  readonly standing: WeakSet<ServerResponse>;
  /** Anonymous refusals (before the door let the request in), tallied per listener and minute (refusal-tally.ts). */
  readonly refusals: RefusalTally;
  /** What the door remembers (door.ts): replayed proofs, certificate thumbprints, admissions per server config. */
  readonly door: DoorMemory;
}

/** What a request's steps read: the daemon's lasting state and the state of the config loaded last. */
export type DaemonState = ProcessState & LoadedState;

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
