import { isGatekitError } from '../errors.js';
import { sseEvents } from './sse.js';
import type { DaemonResponse } from './transport.js';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
/** An event id we send back as a header: printable ASCII of a sane length, or none (a hostile id is dropped). */
const isHeaderSafe = (id: string): boolean => id.length <= 1024 && /^[\x20-\x7e]*$/.test(id);

/**
 * Holds a session's GET stream open until `signal` aborts: every event's data goes to `deliver`; a dropped
 * stream is reopened with backoff, with `Last-Event-ID` set to the last event id seen, so that a daemon that
 * numbers its events can resume where the stream broke (MCP Streamable HTTP "Resumability and Redelivery").
 * A 404 or 405 (no session, or no GET stream offered) and an ended login stop it.
 */
export function holdEventStream(
  open: (headers: Record<string, string>, signal: AbortSignal) => Promise<DaemonResponse>,
  deliver: (data: string) => void,
  signal: AbortSignal,
): void {
  void (async () => {
    let delay = FIRST_DELAY_MS;
    let lastEventId: string | undefined;
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
        const res = await open(headers, signal);
        if (res.status === 405 || res.status === 404) return await res.body.dump();
        if (res.status !== 200) await res.body.dump();
        else {
          delay = FIRST_DELAY_MS;
          for await (const event of sseEvents(res.body)) {
            if (event.id !== undefined) lastEventId = isHeaderSafe(event.id) ? event.id : undefined;
            deliver(event.data);
          }
        }
      } catch (err) {
        if (signal.aborted || isGatekitError(err, 'LOGIN_REQUIRED')) return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  })();
}
