import type { ServerResponse } from 'node:http';
import type { RpcMessage } from '../mcp/index.js';

/** Response headers of every text/event-stream the daemon opens (a GET stream or a POST's answer). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
} as const;

/**
 * Writes one JSON-RPC message as one SSE event. JSON.stringify never emits a raw newline, so the
 * message always fits in a single `data:` line.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function writeSseMessage(res: ServerResponse, message: RpcMessage): void {
  // A stream ended by the daemon (its token expired, streams.ts) is gone once 'close' fires; until then, nothing more.
  if (res.writableEnded) return;
  res.write(sseEvent(JSON.stringify(message)));
}

/** One SSE event for one JSON-RPC message's JSON text, which holds no raw newline (a child's line never does). */
export function sseEvent(json: string): string {
  return `event: message\ndata: ${json}\n\n`;
}
