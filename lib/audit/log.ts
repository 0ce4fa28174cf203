import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';
import { GatekitError } from '../errors.js';

export type AuditEventName =
  | 'daemon.start' | 'daemon.stop' | 'daemon.reload'
  | 'session.start' | 'session.end'
  | 'request' | 'denied' | 'auth.failed'
  | 'server.exit' | 'token.exchange';

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

/** Longest string an audit line carries in any field; a hostile tool name or method cannot bloat a line. */
export const MAX_FIELD_LENGTH = 512;

function capped(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.length <= MAX_FIELD_LENGTH) return value;
  return `${value.slice(0, MAX_FIELD_LENGTH)}…[${value.length - MAX_FIELD_LENGTH} more chars]`;
}

export interface AuditLogOptions {
  /** 0640 instead of 0600 for a new file: [daemon] socket_group is set, so the group may read it. */
  readonly groupReadable?: boolean;
}

const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Appends JSON lines to the audit file (or stdout for "-"), one write(2) per line so each is
 * flushed and lines from one process never interleave. `reopen()` follows log rotation. The file
 * is never reached through a symbolic link (O_NOFOLLOW) and must be a regular file; a new one is
 * created 0600 (0640 with a socket group). Every string field is capped at MAX_FIELD_LENGTH.
 */
export class AuditLog {
  readonly #path: string;
  readonly #mode: number;
  #fd: number;

  constructor(path: string, options: AuditLogOptions = {}) {
    this.#path = path;
    this.#mode = options.groupReadable ? 0o640 : 0o600;
    this.#fd = this.#open();
  }

  write(event: AuditEvent): void {
    const line = JSON.stringify({ ts: new Date().toISOString(), ...event }, capped);
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
    // O_NONBLOCK: a FIFO planted at the path must not hang the daemon; it is refused below.
    const flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK;
    let fd: number;
    try {
      try {
        fd = openSync(this.#path, flags | O_CREAT | O_EXCL, this.#mode);
        fchmodSync(fd, this.#mode); // the umask must not decide who reads the audit log
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        fd = openSync(this.#path, flags);
      }
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const why = code === 'ELOOP' ? 'it is a symbolic link, which Gatekit never follows' : code;
      throw new GatekitError('CONFIG_INVALID', `cannot open the audit log ${this.#path}: ${why}`, {
        hint: code === 'ELOOP' ? 'point [daemon] audit_log at the real file, or remove the link'
          : 'check [daemon] audit_log and that its directory exists and is writable', cause,
      });
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new GatekitError('CONFIG_INVALID', `cannot open the audit log ${this.#path}: not a regular file`, {
        hint: 'point [daemon] audit_log at a regular file',
      });
    }
    return fd;
  }
}
