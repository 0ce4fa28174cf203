import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { GatekitError } from '../errors.js';

/** One server-sent event: `data` (multi-line data joined with "\n"), and `id` and `event` when the server sent them. */
export type SseEvent = EventSourceMessage;

/** More than this many characters in one unfinished line or event is not an MCP message but a runaway stream. */
const MAX_EVENT_CHARS = 64 * 1024 * 1024;

/**
 * Reads a text/event-stream body into its events with `eventsource-parser`: CR, LF and CRLF line ends (also when a
 * CRLF is split across two chunks), UTF-8 split across chunks, comments and `retry` skipped. An event the stream
 * ends in the middle of is not dispatched. A line or event over `maxChars` is DAEMON_UNREACHABLE (a broken daemon).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export async function* sseEvents(
  body: AsyncIterable<Buffer | string>,
  maxChars = MAX_EVENT_CHARS,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const ready: SseEvent[] = [];
  let failure: GatekitError | undefined;
  const parser = createParser({
    maxBufferSize: maxChars,
    onEvent: (event) => ready.push(event),
    onError: (err) => {
      // An unknown field or a bad retry is ignored, as a browser does.
      if (err.type !== 'max-buffer-size-exceeded') return;
      const why = `the daemon's event stream sent an event over ${maxChars} characters`;
      failure = new GatekitError('DAEMON_UNREACHABLE', why);
    },
  });
  for await (const chunk of body) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    yield* ready.splice(0);
    if (failure) throw failure;
  }
}
