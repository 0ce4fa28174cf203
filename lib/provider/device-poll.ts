import { GatekitError } from '../errors.js';

/** What one poll of a device-code token endpoint answered. */
export type DevicePollAnswer<T> =
  | { readonly done: T }
  | { readonly pending: 'authorization_pending' }
  | { readonly pending: 'slow_down'; readonly interval?: number | undefined }
  /** The token endpoint could not be reached; the loop backs off. */
  | { readonly unreachable: true };

/** Time as the loop sees it; tests pass a mocked one. */
export interface PollClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface DevicePollOptions {
  /** Seconds between polls as the device authorization response gave it (5 when absent, RFC 8628 §3.2). */
  readonly interval?: number | undefined;
  /** Seconds the device code lives. */
  readonly expiresIn: number;
  readonly signal?: AbortSignal | undefined;
  readonly clock?: PollClock;
}

const MAX_BACKOFF_S = 60;

const interrupted = (): GatekitError => new GatekitError('INTERRUPTED', 'login interrupted');

/** The error of a device code that expired before the person approved it. */
export function deviceCodeExpired(cause?: unknown): GatekitError {
  return new GatekitError('LOGIN_REQUIRED', 'the device code expired before the login was approved', {
    hint: 'run "gatekit broker login" again',
    ...(cause === undefined ? {} : { cause }),
  });
}

const realClock: PollClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(interrupted());
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(interrupted());
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Resolves `attempt` but rejects with INTERRUPTED as soon as `signal` aborts. */
function abortable<T>(attempt: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return attempt;
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    attempt.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The device-flow poll loop shared by every provider: waits the interval before each poll, adds 5 s (or takes
 * the server's new interval) on `slow_down`, backs off on an unreachable endpoint, stops with LOGIN_REQUIRED when
 * the code expires and with INTERRUPTED when `signal` aborts. Any other error `poll` throws ends the loop.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export async function pollDeviceCode<T>(
  poll: () => Promise<DevicePollAnswer<T>>,
  options: DevicePollOptions,
): Promise<T> {
  const clock = options.clock ?? realClock;
  const base = options.interval ?? 5;
  const expiresAt = clock.now() + options.expiresIn * 1000;
  let interval = base;
  let failures = 0;
  for (;;) {
    await clock.sleep(interval * 1000, options.signal);
    if (clock.now() > expiresAt) throw deviceCodeExpired();
    const answer = await abortable(poll(), options.signal);
    if ('done' in answer) return answer.done;
    if ('unreachable' in answer) {
      failures += 1;
      interval = Math.min(MAX_BACKOFF_S, base * 2 ** failures);
      continue;
    }
    failures = 0;
    if (answer.pending === 'slow_down') interval = answer.interval ?? interval + 5;
  }
}
