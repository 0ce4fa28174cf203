/**
 * The price of a DPoP-bound token and of the 2026-07-28 stateless era, in alternating rounds against one running
 * daemon: each round measures a bearer row and the rows compared with it back to back (same minute, same load),
 * so that the ratios hold on a shared, noisy machine (bench/run.ts prints their median and spread).
 * Proofs as `gatekit connect` sends them (PS256, signed ahead: ProofsAhead, lib/token/dpop-key.ts) go with the v1 SDK
 * client, whose bearer row is the daemon's; ES256 proofs from the SDK v2 client's own DPoP support (`withDpop`, `DpopSession`) go with
 * the v2 client's session-era bearer row.
 */
import { DpopSession, withDpop } from '@modelcontextprotocol/client';
import type { Dispatcher } from 'undici';
import { DpopKey, ProofsAhead } from '../lib/token/index.js';
import { best, fetchVia, httpClient, measure, type Row } from './measure.js';
import { v2Client } from './modern.js';
import { ROUNDS } from './rounds.js';

const URL_MCP = 'http://localhost/mcp';
const STATELESS = '2026-07-28';

/** A token for the notes server, bound to `jkt` when given. */
export type TokenFor = (jkt?: string) => Promise<string>;

export interface BindingRows {
  readonly bearer: Row;
  readonly connectDpop: Row;
  readonly v2Session: Row;
  readonly v2Dpop: Row;
  readonly v2Stateless: Row;
}

export interface BindingRatios {
  /** Proofs as `gatekit connect` signs them (PS256, ProofsAhead) ÷ bearer, v1 SDK client. */
  readonly connectCpu: number;
  readonly connectP50: number;
  /** ES256 proofs from the SDK v2 client ÷ its bearer session-era row. */
  readonly v2Cpu: number;
  readonly v2P50: number;
  /** SDK v2 client: stateless (pooled child) ÷ session era. */
  readonly statelessP50: number;
  readonly statelessRps: number;
  readonly statelessCpu: number;
}

/** ROUNDS × (bearer, connect's proofs, v2 bearer session era, v2 ES256 proofs, v2 stateless). */
export async function bindingRounds(
  dispatcher: Dispatcher,
  tokenFor: TokenFor,
  daemonPid: number,
): Promise<{ rows: BindingRows; ratios: BindingRatios[] }> {
  const bearer = await tokenFor();
  const connectKey = await DpopKey.generate('PS256');
  const connectToken = await tokenFor(connectKey.jkt);
  const session = await DpopSession.create();
  const v2Token = await tokenFor(session.thumbprint);
  const via = fetchVia(dispatcher);
  const paths = {
    bearer: 'daemon, Unix socket, bearer token (v1 SDK client)',
    connectDpop: 'daemon, Unix socket, DPoP-bound token + PS256 proof per request, as `gatekit connect` signs',
    v2Session: 'SDK v2 client: daemon, Unix socket, session era (initialize + Mcp-Session-Id), bearer token',
    v2Dpop: 'SDK v2 client: daemon, Unix socket, session era, DPoP-bound token + ES256 proof (withDpop)',
    v2Stateless: `SDK v2 client: daemon, Unix socket, ${STATELESS} stateless (pooled child), bearer token`,
  } as const;
  const clients = {
    bearer: httpClient(URL_MCP, dispatcher, bearer),
    connectDpop: httpClient(URL_MCP, dispatcher, connectToken, new ProofsAhead(connectKey)),
    v2Session: v2Client(via, bearer),
    v2Dpop: v2Client(withDpop(session, () => Promise.resolve(v2Token))(via) as typeof fetch, v2Token),
    v2Stateless: v2Client(via, bearer, STATELESS),
  };
  const runs: Record<keyof BindingRows, Row[]> = {
    bearer: [],
    connectDpop: [],
    v2Session: [],
    v2Dpop: [],
    v2Stateless: [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(runs) as (keyof BindingRows)[]) {
      runs[name].push(await measure(paths[name], clients[name], daemonPid));
    }
  }
  const ratios = runs.bearer.map((b, i) => {
    const ed = runs.connectDpop[i]!;
    const s = runs.v2Session[i]!;
    const d = runs.v2Dpop[i]!;
    const st = runs.v2Stateless[i]!;
    return {
      connectCpu: ed.cpu! / b.cpu!,
      connectP50: ed.p50 / b.p50,
      v2Cpu: d.cpu! / s.cpu!,
      v2P50: d.p50 / s.p50,
      statelessP50: st.p50 / s.p50,
      statelessRps: st.rps / s.rps,
      statelessCpu: st.cpu! / s.cpu!,
    };
  });
  const tag = (r: Row) => ({ ...r, path: `${r.path} (best of ${ROUNDS})` });
  const rows = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, tag(best(v))])) as unknown as BindingRows;
  return { rows, ratios };
}
