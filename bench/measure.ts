/**
 * How the bench measures one path: latency over sequential `tools/call`s, throughput with 16 in flight,
 * session set-up, and the CPU the process between client and child spends per call (bench/run.ts).
 */
import { setMaxListeners } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import type { ProofsAhead } from '../lib/token/index.js';
import { cpuMs, percentile, sequential, throughput } from './stats.js';

// The SDK's HTTP transport adds an abort listener per call to one long-lived signal.
setMaxListeners(100_000);

export const CALLS = Number(process.env['BENCH_CALLS'] ?? 3000);
export const LOAD = Number(process.env['BENCH_LOAD'] ?? 6000);
/** Calls before the timed ones, so that both proxies are measured warm (their JIT done), not while compiling. */
export const WARM_UP = Number(process.env['BENCH_WARM_UP'] ?? 2000);
export const SESSIONS = 30;
const ECHO = { name: 'echo', arguments: { message: 'x' } };

/** What the bench needs of an MCP client: the v1 SDK's Client and the v2 client both fit. */
export interface BenchClient {
  callTool(params: typeof ECHO): Promise<unknown>;
  close(): Promise<void>;
  readonly transport?: unknown;
}

export interface Row {
  readonly path: string;
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly setup: number;
  /** CPU the proxy process (not its child) spent per tools/call, in ms; undefined for direct stdio. */
  readonly cpu: number | undefined;
}

/** `proxyPid`: the process between client and child, whose CPU per call is measured over the timed calls. */
export async function measure(path: string, connect: () => Promise<BenchClient>, proxyPid?: number): Promise<Row> {
  const client = await connect();
  await sequential(WARM_UP, () => client.callTool(ECHO));
  const cpuBefore = proxyPid ? cpuMs(proxyPid) : 0;
  const lat = await sequential(CALLS, () => client.callTool(ECHO));
  const rps = await throughput(LOAD, 16, () => client.callTool(ECHO));
  const cpu = proxyPid ? (cpuMs(proxyPid) - cpuBefore) / (CALLS + LOAD) : undefined;
  await close(client);
  const setups = await sequential(SESSIONS, async () => close(await connect()));
  return { path, p50: percentile(lat, 50), p99: percentile(lat, 99), rps, setup: percentile(setups, 50), cpu };
}

/** Each figure's best over runs of the same path (lowest times, highest throughput). */
export function best(rows: readonly Row[]): Row {
  const low = (pick: (r: Row) => number) => Math.min(...rows.map(pick));
  const cpus = rows.map((r) => r.cpu).filter((c): c is number => c !== undefined);
  return {
    path: rows[0]!.path,
    p50: low((r) => r.p50),
    p99: low((r) => r.p99),
    rps: Math.max(...rows.map((r) => r.rps)),
    setup: low((r) => r.setup),
    cpu: cpus.length ? Math.min(...cpus) : undefined,
  };
}

/** Ends the MCP session first (DELETE), where there is one, so the proxy's child goes too. */
async function close(client: BenchClient): Promise<void> {
  const t = client.transport as { terminateSession?: () => Promise<void> } | undefined;
  if (t?.terminateSession) await t.terminateSession().catch(() => {});
  await client.close();
}

/** `fetch` over an undici dispatcher (a Unix socket or an mTLS agent), for either SDK's HTTP transport. */
export function fetchVia(dispatcher: Dispatcher): typeof fetch {
  return ((u: string | URL, init?: RequestInit) =>
    undiciFetch(u, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

/**
 * The v1 SDK client over Streamable HTTP with a Bearer token, or a DPoP-bound one with a proof per request, made as
 * `gatekit connect` makes them (lib/bridge/link.ts: PS256, signed ahead).
 */
export function httpClient(
  url: string,
  dispatcher: Dispatcher,
  token: string,
  dpop?: ProofsAhead,
): () => Promise<Client> {
  return async () => {
    const client = new Client({ name: 'bench', version: '1' });
    const viaDispatcher = fetchVia(dispatcher);
    // RFC 9449: a fresh proof per request.
    const withProof = async (u: string | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `DPoP ${token}`);
      headers.set('dpop', await dpop!.proof(init?.method ?? 'GET', String(u), token));
      return viaDispatcher(u, { ...init, headers });
    };
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        fetch: (dpop ? withProof : viaDispatcher) as typeof fetch,
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    return client;
  };
}
