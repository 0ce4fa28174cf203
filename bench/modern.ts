/**
 * The SDK v2 client, `@modelcontextprotocol/client`, as the bench drives it: straight over stdio to the notes
 * fixture, or over HTTP to the daemon in the session era (initialize, Mcp-Session-Id, a child per session) or, pinned
 * to 2026-07-28, in the stateless era (no session; each request served by the caller's pooled child, lib/daemon/era).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { NOTES_SERVER } from '../test/helpers/daemon-harness.js';
import { measure, type BenchClient, type Row } from './measure.js';

/** An SDK v2 client of the daemon's notes socket through `fetch`; `pin` a version for the stateless era. */
export function v2Client(fetch: typeof globalThis.fetch, token: string, pin?: string): () => Promise<BenchClient> {
  return async () => {
    const client = new Client(
      { name: 'bench-v2', version: '2' },
      pin ? { versionNegotiation: { mode: { pin } } } : undefined,
    );
    const transport = new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), {
      fetch,
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    if (client.getProtocolEra() !== (pin ? 'modern' : 'legacy')) throw new Error(`not the ${pin ?? 'session'} era`);
    return client;
  };
}

/** The SDK v2 client straight over stdio: the baseline of its rows through the daemon. */
export function v2DirectRow(): Promise<Row> {
  return measure('SDK v2 client: direct stdio (→ notes fixture)', async () => {
    const client = new Client({ name: 'bench-v2', version: '2' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [NOTES_SERVER] }));
    return client;
  });
}
