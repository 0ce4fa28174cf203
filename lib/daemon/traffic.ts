import type { RequestListener, ServerResponse } from 'node:http';

/**
 * The responses a daemon has open: POSTs and DELETEs being answered (a drain on SIGTERM waits for them, except the
 * standing ones, which end with their session or child) and, for the metrics only, GET streams.
 */
export class Traffic {
  readonly #answering = new Set<ServerResponse>();
  readonly #streams = new Set<ServerResponse>();
  readonly #standing: WeakSet<ServerResponse>;
  readonly #countStreams: boolean;
  #drained: (() => void) | undefined;

  /** `standing`: the daemon's (ProcessState); `countStreams`: GET streams are tracked too (metrics_listen). */
  constructor(standing: WeakSet<ServerResponse>, countStreams: boolean) {
    this.#standing = standing;
    this.#countStreams = countStreams;
  }

  /** `handler`, with each of its responses tracked until it closes. */
  counted(handler: RequestListener): RequestListener {
    return (req, res) => {
      if (req.method !== 'GET') {
        this.#answering.add(res);
        res.once('close', () => {
          this.#answering.delete(res);
          this.#drained?.();
        });
      } else if (this.#countStreams) {
        this.#streams.add(res);
        res.once('close', () => this.#streams.delete(res));
      }
      handler(req, res);
    };
  }

  /** Every open response, for the metrics' stream gauge. */
  responses(): ServerResponse[] {
    return [...this.#answering, ...this.#streams];
  }

  /** Resolves once no answer but the standing ones is open, or after `ms`. */
  async drain(ms: number): Promise<void> {
    const waiting = () => [...this.#answering].some((res) => !this.#standing.has(res));
    if (!waiting()) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => {
        this.#drained = () => {
          if (!waiting()) r();
        };
      }),
      new Promise((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
  }
}
