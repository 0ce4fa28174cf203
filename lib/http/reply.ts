import type { ServerResponse } from 'node:http';

/**
 * Answers with a JSON body, `Cache-Control: no-store` and its length. `headers` adds to them (e.g.
 * `retry-after`, or `pragma: no-cache` for a token response, RFC 6749 §5.1) but cannot replace them.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}
