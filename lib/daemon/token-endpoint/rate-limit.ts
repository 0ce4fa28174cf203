import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

const WINDOW_MS = 60_000;
const MAX_PEERS = 10_000;

/**
 * Counts failed token exchanges per peer in fixed one-minute windows; past `max` failures the
 * peer is told to wait (HTTP 429 with Retry-After, RFC 6585 §4) until its window ends, before any
 * subject token is looked at. Successful exchanges are never limited.
 */
export class FailureLimiter {
  readonly #windows = new Map<string, { failures: number; resetAt: number }>();
  readonly #now: () => number;
  max: number;

  constructor(max: number, now: () => number = Date.now) {
    this.max = max;
    this.#now = now;
  }

  /** Seconds the peer must wait, or 0 when it may try. */
  retryAfter(peer: string): number {
    const window =
      this.#windows.get(peer) ?? (this.#windows.size >= MAX_PEERS ? this.#windows.get('overflow') : undefined);
    const now = this.#now();
    if (!window || window.resetAt <= now || window.failures < this.max) return 0;
    return Math.max(1, Math.ceil((window.resetAt - now) / 1000));
  }

  fail(peer: string): void {
    const now = this.#now();
    let window = this.#windows.get(peer);
    if (!window || window.resetAt <= now) {
      if (this.#windows.size >= MAX_PEERS) this.#prune(now);
      // Still full: every newcomer shares one bucket rather than grow the map without bound.
      const key = this.#windows.size >= MAX_PEERS ? 'overflow' : peer;
      window = this.#windows.get(key);
      if (!window || window.resetAt <= now) {
        window = { failures: 0, resetAt: now + WINDOW_MS };
        this.#windows.set(key, window);
      }
      if (key !== peer) {
        window.failures += 1;
        return;
      }
    }
    window.failures += 1;
  }

  #prune(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
  }
}

/**
 * The peer a failure is charged to. Over TCP (mutual TLS): the remote address plus the SHA-256 of
 * the client certificate. Over a Unix socket Node cannot read the caller's uid (SO_PEERCRED), so
 * every local caller shares one bucket.
 */
export function peerOf(req: IncomingMessage): string {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.remoteAddress) return 'unix';
  const raw = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().raw : undefined;
  return `${socket.remoteAddress} ${raw ? createHash('sha256').update(raw).digest('base64url') : '-'}`;
}
