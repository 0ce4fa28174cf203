import { paramHeaders, scanParamHeaders, type ParamHeader } from '../mcp/index.js';
import type { Message } from './answers.js';
import { statelessHeaders } from './era.js';
import { ACCEPT_POST, type DaemonLink } from './link.js';
import { sseEvents } from './sse.js';
import { header } from './transport.js';

const isObject = (v: unknown): v is Message => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Pages of the tool list read before a call at most. */
const MAX_PAGES = 16;
const LIST_ID = 'gatekit-connect/tools';

/**
 * What `gatekit connect` knows of its server's tools for SEP-2243: the `x-mcp-header` declarations of each tool, so
 * that a 2026-07-28 `tools/call` carries the `Mcp-Param-*` headers its arguments imply (the daemon checks them as a
 * server must). Learned from every tools/list answer the client gets, forgotten on `tools/list_changed`; before a
 * call when nothing is known, the bridge lists the tools itself with the call's own envelope.
 */
export class ToolHeaders {
  #declared: Map<string, readonly ParamHeader[]> | undefined;

  /** A tools/list result the client is given. */
  noteList(result: unknown): void {
    const tools = isObject(result) && Array.isArray(result['tools']) ? (result['tools'] as unknown[]) : undefined;
    if (!tools) return;
    const declared = (this.#declared ??= new Map());
    for (const tool of tools) {
      if (!isObject(tool) || typeof tool['name'] !== 'string') continue;
      const found = scanParamHeaders(tool['inputSchema']);
      if (found !== undefined && found.length > 0) declared.set(tool['name'], found);
      else declared.delete(tool['name']);
    }
  }

  /** The server said its tool list changed. */
  forget(): void {
    this.#declared = undefined;
  }

  /** The `Mcp-Param-*` headers of a 2026-07-28 `tools/call` (none for any other message). */
  async headersFor(message: Message, link: DaemonLink, signal: AbortSignal): Promise<Record<string, string>> {
    const params = isObject(message['params']) ? message['params'] : undefined;
    if (message['method'] !== 'tools/call' || typeof params?.['name'] !== 'string') return {};
    if (this.#declared === undefined) await this.#learn(params['_meta'], link, signal);
    const declared = this.#declared?.get(params['name']);
    return declared ? paramHeaders(declared, params['arguments']) : {};
  }

  /** Lists the tools with `meta` (the call's envelope); a failure leaves them unknown and the call goes without. */
  async #learn(meta: unknown, link: DaemonLink, signal: AbortSignal): Promise<void> {
    let cursor: unknown;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = { ...(typeof cursor === 'string' ? { cursor } : {}), _meta: meta };
      const request = { jsonrpc: '2.0', id: LIST_ID, method: 'tools/list', params };
      const result = await listPage(request, link, signal).catch(() => undefined);
      if (result === undefined) return;
      this.noteList(result);
      cursor = isObject(result) ? result['nextCursor'] : undefined;
      if (typeof cursor !== 'string') return;
    }
  }
}

async function listPage(request: Message, link: DaemonLink, signal: AbortSignal): Promise<unknown> {
  const res = await link.post(JSON.stringify(request), { accept: ACCEPT_POST, ...statelessHeaders(request) }, signal);
  const answer = (text: string): unknown => {
    const value: unknown = JSON.parse(text);
    return isObject(value) && value['id'] === LIST_ID ? (value['result'] ?? null) : undefined;
  };
  if (res.status !== 200) return void (await res.body.dump());
  if (!(header(res, 'content-type') ?? '').includes('text/event-stream')) return answer(await res.body.text());
  for await (const event of sseEvents(res.body)) {
    const result = answer(event.data);
    if (result !== undefined) return result;
  }
  return undefined;
}
