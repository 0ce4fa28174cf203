/**
 * The daemon against the lean no-auth proxy (bench/lean-proxy.ts) and the same proxy doing the daemon's per-call
 * security work (bench/lean-guard.ts), with its audit hash chain on and off, in alternating rounds: the machine
 * the bench shares moves every figure between runs, so the ratios are taken round by round (same minute, same load)
 * and reported as their median with the spread.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import type { Config } from '../lib/config/index.js';
import { NOTES_SERVER } from '../test/helpers/daemon-harness.js';
import { best, httpClient, measure, type Row } from './measure.js';

const LEAN_PROXY = new URL('./lean-proxy.js', import.meta.url);
const DAEMON = new URL('./daemon.js', import.meta.url);
export const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

/** A bench process that prints "listening" when ready; stop() waits for it to exit (its sockets gone). */
async function startProcess(script: URL, args: string[]): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script.pathname} exited (${code})`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('listening')) resolve();
    });
  });
  return {
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Rounds {
  readonly lean: Row;
  readonly secured: Row;
  readonly on: Row;
  readonly off: Row;
  /** Per round: daemon (chain on) ÷ lean, ÷ the secured lean proxy, and chain on ÷ off. */
  readonly ratios: ReadonlyArray<{
    cpu: number;
    p50: number;
    rps: number;
    securedCpu: number;
    securedP50: number;
    securedRps: number;
    chainP50: number;
    chainRps: number;
  }>;
}

/**
 * ROUNDS × (lean proxy, secured lean proxy, daemon with the chain on, daemon with it off), each its own process on
 * a Unix socket.
 */
export async function leanAndChainRounds(config: Config, runDir: string, token: string): Promise<Rounds> {
  const leanSocket = join(runDir, 'lean.sock');
  const listen = config.servers.get('notes')!.listen;
  const daemonSocket = listen.kind === 'unix' ? listen.path : '';
  const row = async (script: URL, args: string[], socket: string, path: string) => {
    const proc = await startProcess(script, args);
    const agent = new Agent({ connect: { socketPath: socket } });
    const result = await measure(path, httpClient('http://localhost/mcp', agent, token), proc.pid);
    await agent.close();
    await proc.stop();
    return result;
  };
  const lean = 'lean no-auth proxy, Unix socket (node:http → stdio child, raw JSON-RPC)';
  const secured =
    "lean proxy + the daemon's security work (token, policy, tool gate, trace, digest, chained audit line)";
  const on = 'daemon, Unix socket (SDK client, Streamable HTTP), audit hash chain + checkpoints on';
  const off = 'daemon, Unix socket, audit hash chain + checkpoints off';
  const runs: { lean: Row[]; secured: Row[]; on: Row[]; off: Row[] } = { lean: [], secured: [], on: [], off: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.lean.push(await row(LEAN_PROXY, [leanSocket, NOTES_SERVER], leanSocket, lean));
    const guarded = [leanSocket, NOTES_SERVER, config.file, 'notes'];
    runs.secured.push(await row(LEAN_PROXY, guarded, leanSocket, secured));
    runs.on.push(await row(DAEMON, [config.file, 'on'], daemonSocket, on));
    runs.off.push(await row(DAEMON, [config.file, 'off'], daemonSocket, off));
  }
  const ratios = runs.lean.map((l, i) => {
    const d = runs.on[i]!;
    const o = runs.off[i]!;
    const g = runs.secured[i]!;
    return {
      cpu: d.cpu! / l.cpu!,
      p50: d.p50 / l.p50,
      rps: d.rps / l.rps,
      securedCpu: d.cpu! / g.cpu!,
      securedP50: d.p50 / g.p50,
      securedRps: d.rps / g.rps,
      chainP50: d.p50 / o.p50,
      chainRps: d.rps / o.rps,
    };
  });
  const tag = (r: Row) => ({ ...r, path: `${r.path} (best of ${ROUNDS})` });
  const tagged = { lean: tag(best(runs.lean)), secured: tag(best(runs.secured)) };
  return { ...tagged, on: tag(best(runs.on)), off: tag(best(runs.off)), ratios };
}

/** "1.02× (0.95–1.10×)": the median over the rounds, then the lowest and highest. */
export function spread(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mid =
    sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `${mid.toFixed(2)}× (${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)}×)`;
}
