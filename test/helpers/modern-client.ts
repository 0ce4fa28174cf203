import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { baseUrl, type Harness } from './daemon-harness.js';

export const MODERN = '2026-07-28';
export const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** The MCP SDK v2 client pinned to 2026-07-28 (no initialize, no session) over the daemon. */
export async function modernClient(
  h: Harness,
  server: string,
  token: string,
  dispatcher?: Dispatcher,
  /** What the client declares (sampling, elicitation, roots); handlers are set by the caller. */
  capabilities?: Record<string, object>,
): Promise<Client> {
  const via = dispatcher ?? (h.config.servers.get(server)!.listen.kind === 'unix' ? h.unix(server) : h.mtls);
  const transport = new StreamableHTTPClientTransport(new URL(baseUrl(h, server)), {
    fetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: via } as never)) as typeof fetch,
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client(
    { name: 'gatekit-test-v2', version: '2.0.0' },
    { versionNegotiation: { mode: { pin: MODERN } }, ...(capabilities ? { capabilities } : {}) },
  );
  await client.connect(transport);
  return client;
}

/** Headers of a hand-made 2026-07-28 request. */
export function modernHeaders(token: string, method: string, name?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(name !== undefined ? { 'mcp-name': name } : {}),
  };
}

/** A hand-made 2026-07-28 request body. */
export function modernBody(id: number, method: string, params: Record<string, unknown> = {}): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: ENVELOPE } });
}
