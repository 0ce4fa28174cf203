import type { AuditEvent } from '../audit/index.js';

/** Lines of one kind written as they are in one window, before the tally starts. */
const REFUSALS_WRITTEN = 3;
/** Kinds of refusal counted apart in one window; past it, every new kind shares one tally. */
const MAX_KINDS = 64;
const OVERFLOW = '\0overflow';

interface Window {
  readonly startedAt: number;
  readonly line: AuditEvent;
  seen: number;
  counted: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * Refusal lines that anyone may cause (an anonymous request at the MCP door, a peer over its exchange limit) written
 * without letting anyone write unlimited lines (docs/security.md, "nobody can write unlimited audit lines"): per kind
 * (e.g. one listener's identical lines, or one peer's 429s) and window (a minute), the first REFUSALS_WRITTEN
 * refusals are written as they are, the next with `aggregate: "start"`, and every further one only counted; the
 * window's end — or a reload or stop (`flush`) — writes one line with `aggregate: "end"` and that `count`. So each
 * request is in exactly one line's `count ?? 1`, and a kind costs at most REFUSALS_WRITTEN + 2 lines a minute.
 */
export class RefusalTally {
  readonly #windows = new Map<string, Window>();
  readonly #audit: (event: AuditEvent) => void;
  readonly #windowMs: number;

  constructor(audit: (event: AuditEvent) => void, windowMs = 60_000) {
    this.#audit = audit;
    this.#windowMs = windowMs;
  }

  /** Writes or counts `line`, a refusal of kind `kind`. */
  write(kind: string, line: AuditEvent): void {
    const key = this.#windows.has(kind) || this.#windows.size < MAX_KINDS ? kind : OVERFLOW;
    const window = this.#windows.get(key);
    if (!window) {
      const timer = setTimeout(() => this.#close(key), this.#windowMs);
      timer.unref();
      const first =
        key === OVERFLOW ? { event: line.event, server: line.server, error: 'refusals of many kinds' } : line;
      this.#windows.set(key, { startedAt: Date.now(), line: first, seen: 1, counted: 0, timer });
      return this.#audit(line);
    }
    window.seen++;
    if (window.seen <= REFUSALS_WRITTEN) return this.#audit(line);
    if (window.seen === REFUSALS_WRITTEN + 1) return this.#audit({ ...line, aggregate: 'start' });
    window.counted++;
  }

  /** Ends every window now (a reload or stop), writing the counts so far. */
  flush(): void {
    for (const key of [...this.#windows.keys()]) this.#close(key);
  }

  #close(key: string): void {
    const window = this.#windows.get(key);
    if (!window) return;
    clearTimeout(window.timer);
    this.#windows.delete(key);
    if (window.seen <= REFUSALS_WRITTEN) return;
    const { event, server, method, error } = window.line;
    this.#audit({
      event,
      server,
      method,
      outcome: window.line.outcome,
      error,
      aggregate: 'end',
      count: window.counted,
      since: new Date(window.startedAt).toISOString(),
    });
  }
}
