export type AuditEventName =
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
  readonly [field: string]: unknown;
}
