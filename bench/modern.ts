/**
 * The MCP 2026-07-28 rows: one client library — the SDK v2 client, `@modelcontextprotocol/client` — and one
 * server (the notes fixture), straight over stdio, through the daemon in the session era (initialize,
 * Mcp-Session-Id, a child per session) and through the daemon in the 2026-07-28 stateless era (no session;
 * each request served by the caller's pooled child, lib/daemon/era).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Dispatcher } from 'undici';
import { NOTES_SERVER } from '../test/helpers/daemon-harness.js';
import { fetchVia, measure, type Row } from './measure.js';

const STATELESS = '2026-07-28';

function v2Client(pin?: string): Client {
  return new Client({ name: 'bench-v2', version: '2' }, pin ? { versionNegotiation: { mode: { pin } } } : undefined);
}

/** `daemonPid`: the `gatekit daemon` process serving `dispatcher`'s socket. */
export async function modernRows(dispatcher: Dispatcher, token: string, daemonPid: number): Promise<Row[]> {
  const overHttp = (pin?: string) => async () => {
    const client = v2Client(pin);
    const transport = new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), {
      fetch: fetchVia(dispatcher),
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    if (client.getProtocolEra() !== (pin ? 'modern' : 'legacy')) throw new Error(`not the ${pin ?? 'session'} era`);
    return client;
  };
  const direct = async () => {
    const client = v2Client();
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [NOTES_SERVER] }));
    return client;
  };
  return [
    await measure('SDK v2 client: direct stdio (→ notes fixture)', direct),
    await measure(
      'SDK v2 client: daemon, Unix socket, session era (initialize + Mcp-Session-Id)',
      overHttp(),
      daemonPid,
    ),
    await measure(
      `SDK v2 client: daemon, Unix socket, ${STATELESS} stateless (pooled child)`,
      overHttp(STATELESS),
      daemonPid,
    ),
  ];
}
