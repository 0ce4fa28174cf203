import { closeSync, openSync, writeSync } from 'node:fs';
import { GatekitError } from '../errors.js';

export type AuditEventName =
  | 'daemon.start' | 'daemon.stop' | 'daemon.reload'
  | 'session.start' | 'session.end'
  | 'request' | 'denied' | 'auth.failed'
  | 'server.exit' | 'token.exchange';

/** One audit line (DESIGN.md §5). Never a token, a key or tool arguments (unless a server opts in). */
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

/**
 * Appends JSON lines to the audit file (or stdout for "-"), one write(2) per line so each is
 * flushed and lines from one process never interleave. `reopen()` follows log rotation.
 */
export class AuditLog {
  readonly #path: string;
  #fd: number;

  constructor(path: string) {
    this.#path = path;
    this.#fd = this.#open();
  }

  write(event: AuditEvent): void {
    const line = JSON.stringify({ ts: new Date().toISOString(), ...event });
    writeSync(this.#fd, `${line}\n`);
  }

  reopen(): void {
    if (this.#path === '-') return;
    const next = this.#open();
    const previous = this.#fd;
    this.#fd = next;
    closeSync(previous);
  }

  close(): void {
    if (this.#path !== '-') closeSync(this.#fd);
  }

  #open(): number {
    if (this.#path === '-') return 1;
    try {
      return openSync(this.#path, 'a', 0o600);
    } catch (cause) {
      throw new GatekitError('CONFIG_INVALID', `cannot open the audit log ${this.#path}: ${(cause as NodeJS.ErrnoException).code}`, {
        hint: 'check [daemon] audit_log and that its directory exists and is writable', cause,
      });
    }
  }
}
