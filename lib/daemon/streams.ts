import type { ServerResponse } from 'node:http';
import { auditLine, type AuditEvent } from '../audit/index.js';
import { GatekitError, isGatekitError } from '../errors.js';
import { acceptedUntil, type AccessTokenClaims } from '../token/index.js';
import { readmit, type DoorState } from './door.js';
import type { Person } from '../person.js';

/** One standing stream (a GET stream or a `subscriptions/listen` answer) and the token that opened it. */
export interface StandingStream {
  readonly res: ServerResponse;
  readonly server: string;
  readonly claims: AccessTokenClaims;
  readonly who: Person;
  /** `GET` or `subscriptions/listen`, for the audit line. */
  readonly method: string;
  readonly session?: string | undefined;
  readonly era?: string | undefined;
  /** Ends the stream the way its kind ends (the listen stream answers its request first); `why` says why. */
  readonly close: (why: GatekitError) => void;
}

/**
 * The open streams, each held to its token (docs/security.md, "a stream never outlives its token"): a stream ends
 * when the door would stop taking the token that opened it — at `exp` plus the door's clock skew (60 s) — and on a
 * reload its claims are admitted again against the new config (`readmit`: the server, its token_binding, the policy
 * and per-user not-before), the refused ones ended. Each end has its audit line. Outlives reloads, like the sessions.
 */
export class OpenStreams {
  readonly #open = new Map<StandingStream, NodeJS.Timeout>();
  readonly #audit: (event: AuditEvent) => void;

  constructor(audit: (event: AuditEvent) => void) {
    this.#audit = audit;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Holds `stream` to its token from now until it closes. */
  watch(stream: StandingStream): void {
    if (stream.res.destroyed || stream.res.writableEnded) return;
    const expire = () => this.#end(stream, new GatekitError('TOKEN_EXPIRED', 'token expired'));
    const timer = setTimeout(expire, Math.max(0, acceptedUntil(stream.claims) - Date.now()));
    timer.unref();
    this.#open.set(stream, timer);
    stream.res.once('close', () => {
      clearTimeout(timer);
      this.#open.delete(stream);
    });
  }

  /** After a reload: each open stream's claims against the new config; the refused ones end with their reason. */
  readmitAll(state: DoorState): void {
    for (const stream of [...this.#open.keys()]) {
      try {
        readmit(state, stream.server, stream.claims);
      } catch (err) {
        if (!isGatekitError(err)) throw err;
        this.#end(stream, err);
      }
    }
  }

  #end(stream: StandingStream, why: GatekitError): void {
    const timer = this.#open.get(stream);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#open.delete(stream);
    const fields = {
      method: stream.method,
      session: stream.session,
      ...(stream.era ? { era: stream.era } : {}),
      error: `stream closed: ${why.message}`,
    };
    this.#audit(
      why.code === 'TOKEN_EXPIRED'
        ? auditLine.request(stream.server, stream.who, { ...fields, outcome: 'error' })
        : auditLine.denied(stream.server, stream.who, fields),
    );
    stream.close(why);
  }
}
