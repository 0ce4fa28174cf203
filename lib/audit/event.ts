import type { Person } from '../person.js';

type AuditEventName =
  | 'daemon.start'
  | 'daemon.stop'
  | 'daemon.reload'
  | 'session.start'
  | 'session.end'
  | 'request'
  | 'denied'
  | 'auth.failed'
  | 'server.exit'
  | 'token.exchange'
  | 'tool.changed'
  | 'task.created'
  | 'task.status'
  | 'task.completed'
  | 'task.failed'
  | 'task.cancelled'
  | 'audit.checkpoint'
  | 'audit.reopened'
  | 'audit.lost';

/** One audit line (docs/architecture.md). Never a token, a key or tool arguments (unless a server opts in). */
export interface AuditEvent {
  readonly event: AuditEventName;
  readonly server?: string | undefined;
  readonly user?: string | undefined;
  readonly sub?: string | undefined;
  readonly jti?: string | undefined;
  readonly session?: string | undefined;
  readonly method?: string | undefined;
  readonly tool?: string | undefined;
  readonly rpc_id?: string | number | null | undefined;
  readonly outcome?: 'ok' | 'error' | 'denied' | undefined;
  readonly error?: string | undefined;
  readonly duration_ms?: number | undefined;
  /**
   * Refusals anyone may cause are tallied (lib/daemon/refusal-tally.ts): "start" marks the second of its kind in a
   * window (after it, lines of that kind are only counted); "end" closes the window with `count` more requests.
   */
  readonly aggregate?: 'start' | 'end' | undefined;
  /** With `aggregate: "end"`: how many refusals the window counted without a line of their own. */
  readonly count?: number | undefined;
  readonly [field: string]: unknown;
}

/** The fields a request, denied or auth.failed line may add; `event` comes from the helper. */
export type RequestFields = Omit<Partial<AuditEvent>, 'event' | 'server' | 'user' | 'sub' | 'jti'>;

/**
 * The audit lines, one builder each, so that no call site spells an event by hand. Each returns the event for
 * `AuditLog.write` (lib/audit/log.ts); the writer caps fields and chains lines.
 */
export const auditLine = {
  /** A request's terminal line, or an HTTP-level refusal that is not a denial. */
  request: (server: string, who: Person | undefined, fields: RequestFields): AuditEvent => ({
    event: 'request',
    server,
    user: who?.user,
    sub: who?.sub,
    jti: who?.jti,
    ...fields,
  }),
  /** A policy, rule or origin refusal. */
  denied: (server: string | undefined, who: Person | undefined, fields: RequestFields): AuditEvent => ({
    event: 'denied',
    server,
    user: who?.user,
    sub: who?.sub,
    jti: who?.jti,
    outcome: 'denied',
    ...fields,
  }),
  /**
   * A credential that did not check out (no token, a bad token or proof, a bad subject token); `who` when the token's
   * signature did check out and a later check (binding, not-before) refused it.
   */
  authFailed: (server: string | undefined, method: string | undefined, error: string, who?: Person): AuditEvent => ({
    event: 'auth.failed',
    server,
    user: who?.user,
    sub: who?.sub,
    jti: who?.jti,
    method,
    outcome: 'error',
    error,
  }),
  sessionStart: (server: string, session: string, era: string, owner: Person, pid?: number): AuditEvent => ({
    event: 'session.start',
    era,
    server,
    session,
    user: owner.user,
    sub: owner.sub,
    pid,
  }),
  sessionEnd: (server: string, session: string, era: string, owner: Person, reason: string): AuditEvent => ({
    event: 'session.end',
    era,
    server,
    session,
    user: owner.user,
    sub: owner.sub,
    reason,
  }),
  /** `error`: the server's own error line and the end of its stderr, control characters stripped. */
  serverExit: (
    server: string,
    session: string,
    owner: Person,
    code: number | null,
    signal?: string,
    error?: string,
  ): AuditEvent => ({
    event: 'server.exit',
    server,
    session,
    user: owner.user,
    sub: owner.sub,
    code,
    signal,
    ...(error ? { error } : {}),
  }),
  /** A token the endpoint issued (RFC 8693); `workload` names a workload identity's subject. */
  tokenExchange: (server: string, who: Person, workload?: unknown): AuditEvent => ({
    event: 'token.exchange',
    server,
    user: who.user,
    sub: who.sub,
    jti: who.jti,
    outcome: 'ok',
    ...(workload ? { workload } : {}),
  }),
  /** A child listed a tool unlike its pin (lib/daemon/pin-watch.ts): fingerprints only, never the description. */
  toolChanged: (
    server: string,
    session: string,
    era: string,
    owner: Person,
    fields: { tool: string; pinned: string | undefined; listed: string; action: string },
  ): AuditEvent => ({
    event: 'tool.changed',
    server,
    session,
    era,
    user: owner.user,
    sub: owner.sub,
    tool: fields.tool.slice(0, 200),
    pinned: fields.pinned ?? 'none',
    listed: fields.listed,
    action: fields.action,
  }),
  /**
   * A task's lifecycle as the daemon sees it pass (MCP tasks extension, lib/daemon/tasks.ts): created by a
   * `tools/call`, each new status, and its end. The task's id and tool, never its arguments or result.
   */
  task: (
    server: string,
    session: string,
    era: string,
    owner: Person,
    fields: { task: string; tool: string | undefined; status: string; created: boolean },
  ): AuditEvent => ({
    event: taskEvent(fields.status, fields.created),
    server,
    session,
    era,
    user: owner.user,
    sub: owner.sub,
    task: fields.task.slice(0, 200),
    tool: fields.tool?.slice(0, 200),
    status: fields.status.slice(0, 40),
  }),
  daemonStart: (pid: number, servers: readonly string[]): AuditEvent => ({ event: 'daemon.start', pid, servers }),
  daemonReload: (servers: readonly string[]): AuditEvent => ({ event: 'daemon.reload', servers }),
  daemonStop: (pid: number): AuditEvent => ({ event: 'daemon.stop', pid }),
} as const;

/** What a forwarded request's terminal line is built from (the daemon's pending request). */
export interface ResultSource {
  readonly caller: Person;
  readonly method: string;
  readonly tool: string | undefined;
  readonly id: string | number;
  /** Only when the server sets audit_arguments. */
  readonly arguments: unknown;
  readonly argsDigest: string | undefined;
  readonly trace: { trace_id: string; span_id: string; parent_span_id?: string | undefined } | undefined;
}

/**
 * The terminal `request` line of a forwarded request, built in one literal: it is written once per tools/call,
 * on the daemon's hot path.
 */
export function resultLine(
  server: string,
  era: string,
  session: string,
  p: ResultSource,
  outcome: 'ok' | 'error',
  error: string | undefined,
  durationMs: number,
): AuditEvent {
  return {
    event: 'request',
    era,
    server,
    session,
    user: p.caller.user,
    sub: p.caller.sub,
    jti: p.caller.jti,
    method: p.method,
    tool: p.tool,
    rpc_id: p.id,
    outcome,
    error,
    // JSON leaves out an undefined member: no `arguments` unless the server sets audit_arguments.
    arguments: p.arguments,
    args_digest: p.argsDigest,
    trace_id: p.trace?.trace_id,
    span_id: p.trace?.span_id,
    parent_span_id: p.trace?.parent_span_id,
    duration_ms: durationMs,
  };
}

/** `task.created` for a new task, `task.completed|failed|cancelled` for its end, else `task.status`. */
function taskEvent(status: string, created: boolean): AuditEventName {
  if (created) return 'task.created';
  if (status === 'completed' || status === 'failed' || status === 'cancelled') return `task.${status}`;
  return 'task.status';
}
