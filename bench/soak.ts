/**
 * `npm run soak [-- --minutes N]` (not in `npm test`): a real `gatekit daemon` with the notes fixture, 16 clients
 * for N minutes (default 10) of mixed calls, 5,000 sessions opened over the run (half never DELETEd), SIGHUP every
 * 10 s, one MCP server process killed every 30 s, trickled and aborted requests. Prints the daemon's memory,
 * descriptors and children after warm-up and at the end, audit lines against requests, and whether the chain
 * verifies; then PASS/FAIL per goal (README "Soak"). Only the daemon's Unix sockets; every loop is bounded by time
 * and count, and everything it starts is stopped before it exits.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { startDaemonProcess } from '../lib/dev/index.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import { BROKER_ISSUER } from '../test/helpers/daemon-harness.js';
import { workspace } from '../test/helpers/workspace.js';
import { newTally, runClient } from './soak-load.js';
import { childrenOf, descendantsOf, openFds, rssMb, scrape } from './soak-proc.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(value > 0)) throw new Error(`--${name} takes a positive number`);
  return value;
};
const MINUTES = arg('minutes', 10);
const SESSIONS = arg('sessions', 5000);
const CLIENTS = arg('clients', 16);
const IDLE_S = 20;
/** A server without the SDK: 5,000 children of the notes fixture would spend the run starting Node modules. */
const LITE_SERVER = fileURLToPath(new URL('../fixtures/servers/lite.js', import.meta.url));
const GATEKIT_BIN = fileURLToPath(new URL('../bin/gatekit.js', import.meta.url));
const MAX_REQUESTS = 50_000_000;
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const CONFIG = `[idp]
issuer = "http://127.0.0.1:9"
client_id = "gatekit-cli"

[broker]
issuer = "${BROKER_ISSUER}"

[daemon]
audit_log = "audit.jsonl"
metrics_listen = "unix:run/metrics.sock"

[daemon.limits]
max_sessions_per_user = 3
max_children = 40
idle_timeout = "${IDLE_S}s"
first_response_timeout = "30s"

[servers.notes]
command = ["${process.execPath}", "${LITE_SERVER}"]
allow_users = ["*"]
tools = { allow = ["echo", "hang"] }
`;

interface Reading {
  readonly rss: number;
  readonly heap: number;
  readonly fds: number;
  readonly children: number;
  readonly sessions: number;
}

async function main(): Promise<number> {
  const ws = workspace(CONFIG);
  const config = loadConfig({ config: ws.config });
  await initialize(config, { force: false });
  const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
  const ttl = Math.ceil(MINUTES * 60 + 600);
  const tokens = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const identity = { user: `soak${i}@example.com`, sub: `sub-soak${i}`, groups: [] };
      const resource = config.servers.get('notes')!.resource;
      const opts = { identity, issuer: BROKER_ISSUER, resource, scope: 'tools:*', clientId: 'gatekit-cli' };
      return (await mintAccessToken(key, { ...opts, userClaim: 'email', ttl })).token;
    }),
  );
  const stderr: string[] = [];
  const daemon = await startDaemonProcess(config, { ...process.env, ...ws.env }, (line) => stderr.push(line));
  const pid = daemon.child.pid!;
  const socketPath = join(ws.dir, 'run', 'notes.sock');
  /** A scrape on a connection of its own, closed after it: the daemon's descriptors are counted without it. */
  const scrapeOnce = async () => {
    const agent = new Agent({ connect: { socketPath: join(ws.dir, 'run', 'metrics.sock') } });
    try {
      return await scrape(agent);
    } finally {
      await agent.close();
    }
  };
  const timers: NodeJS.Timeout[] = [];
  let code = 1;
  try {
    const baseline = { fds: openFds(pid), children: descendantsOf(pid).length };
    log(`daemon ${pid} up; baseline ${baseline.fds} descriptors, ${baseline.children} children`);
    const read = async (): Promise<Reading> => {
      const m = await scrapeOnce();
      return {
        rss: rssMb(pid),
        heap: (m.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20,
        fds: openFds(pid),
        children: descendantsOf(pid).length,
        sessions: m.get('gatekit_sessions:sum') ?? 0,
      };
    };
    let hups = 0;
    let kills = 0;
    timers.push(
      setInterval(() => {
        process.kill(pid, 'SIGHUP');
        hups++;
      }, 10_000),
      setInterval(() => {
        const children = childrenOf(pid);
        const victim = children[Math.floor(Math.random() * children.length)];
        if (victim === undefined) return;
        try {
          process.kill(victim, 'SIGKILL');
          kills++;
        } catch {
          /* it ended meanwhile */
        }
      }, 30_000),
    );
    const loadMs = MINUTES * 60_000;
    const warmUpMs = Math.min(120_000, Math.max(30_000, loadMs / 10));
    const start = Date.now();
    const tally = newTally();
    const agents = Array.from({ length: CLIENTS }, () => new Agent({ connect: { socketPath }, connections: 4 }));
    const clients = agents.map((dispatcher, index) =>
      runClient(
        {
          index,
          socketPath,
          dispatcher,
          token: tokens[index]!,
          sessions: SESSIONS / CLIENTS,
          deadline: start + loadMs,
          maxRequests: MAX_REQUESTS,
        },
        tally,
      ),
    );
    const series: number[] = [];
    await sleep(warmUpMs);
    const warm = await read();
    const warmRequests = tally.requests;
    log(`after warm-up (${warmUpMs / 1000} s, ${warmRequests} requests): ${format(warm)}`);
    const sampler = setInterval(() => {
      series.push(rssMb(pid));
      const rate = tally.requests / ((Date.now() - start) / 1000);
      if (series.length % 6 === 0)
        log(
          `${tally.requests} requests (${rate.toFixed(0)}/s), ${tally.sessions} sessions, RSS ${series.at(-1)!.toFixed(1)} MB`,
        );
    }, 10_000);
    timers.push(sampler);
    await Promise.all(clients);
    const loaded = await read();
    const callsAfterWarmUp = tally.requests - warmRequests;
    log(`end of load (${callsAfterWarmUp} requests after warm-up): ${format(loaded)}`);
    for (const t of timers) clearInterval(t);
    await Promise.all(agents.map((a) => a.close()));
    // Abandoned sessions end by the idle timeout; wait for them (bounded), then compare with the baseline.
    const settleBy = Date.now() + (IDLE_S + 30) * 1000;
    let settled = await read();
    while (Date.now() < settleBy && (settled.sessions > 0 || settled.children > baseline.children)) {
      await sleep(1000);
      settled = await read();
    }
    await sleep(1000); // the last sessions' descriptors close as their children's pipes do
    settled = await read();
    await sleep(200); // the scrape's connection closes at the daemon too
    const fdsNow = openFds(pid);
    log(`settled: ${format(settled)}`);
    const metrics = await scrapeOnce();
    await daemon.stop();
    const leftover = descendantsOf(pid).length;

    const lines = readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const terminal = lines.filter(
      (l) =>
        l['event'] === 'request' ||
        l['event'] === 'denied' ||
        l['event'] === 'auth.failed' ||
        (l['event'] === 'session.end' && l['reason'] === 'closed by the client'),
    );
    // A tallied refusal line (lib/daemon/refusal-tally.ts) stands for one request, its window's end line for `count`.
    const accounted = terminal.reduce((n, l) => n + (l['aggregate'] === 'end' ? Number(l['count']) : 1), 0);
    const ids = new Map<unknown, number>();
    for (const l of lines) if (typeof l['rpc_id'] === 'string') ids.set(l['rpc_id'], (ids.get(l['rpc_id']) ?? 0) + 1);
    const missing = tally.answered.filter((id) => ids.get(id) !== 1).length;
    const verify = spawnSync(process.execPath, [GATEKIT_BIN, 'audit', 'verify'], {
      env: { ...process.env, ...ws.env },
      encoding: 'utf8',
    });
    const internal = stderr.filter((l) => /internal error/.test(l)).length;
    const counted = metrics.get('gatekit_requests_total:sum') ?? NaN;

    const growth = loaded.rss - warm.rss;
    const goals: Array<[string, boolean, string]> = [
      [
        'RSS grows ≤ 10 MB over 100,000 calls after warm-up',
        growth <= 10 && callsAfterWarmUp >= 100_000,
        `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB over ${callsAfterWarmUp} calls` +
          (callsAfterWarmUp < 100_000 ? ' (fewer than 100,000: run longer)' : ''),
      ],
      ['descriptors return to their baseline', fdsNow <= baseline.fds, `${fdsNow} now, ${baseline.fds} at start`],
      [
        'children return to their baseline',
        settled.children <= baseline.children && leftover === 0,
        `${settled.children} now, ${baseline.children} at start, ${leftover} left after stop`,
      ],
      [
        'not one request without its audit line',
        accounted === tally.requests && missing === 0,
        `${tally.requests} requests, ${accounted} in terminal lines, ${missing} answered ids not on exactly one line`,
      ],
      ['the chain verifies', verify.status === 0, verify.stdout.trim() || verify.stderr.trim()],
    ];
    const minutes = (Date.now() - start) / 60_000;
    console.log(`\nGatekit soak — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`);
    console.log(
      `${minutes.toFixed(1)} min, ${CLIENTS} clients, ${tally.requests} requests ` +
        `(${(tally.requests / (minutes * 60)).toFixed(0)}/s), ${tally.sessions} sessions opened ` +
        `(${tally.deleted} DELETEd, ${tally.abandoned} abandoned), ${hups} SIGHUPs, ${kills} children killed, ` +
        `${tally.denied} denied calls, ${tally.trickled} trickled, ${tally.abortedInBody} aborted mid-body, ` +
        `${tally.abortedWaiting} aborted while waiting, ${tally.streams} GET streams`,
    );
    console.log(
      `HTTP statuses: ${[...tally.statuses].map(([s, n]) => `${s}×${n}`).join(', ')}; transport failures ${tally.failures}`,
    );
    console.log(
      `metrics: gatekit_requests_total ${counted} (audit: ${accounted - tally.deleted}); daemon stderr: ${stderr.length} lines, ${internal} internal errors`,
    );
    console.log(
      `RSS every 10 s after warm-up: min ${Math.min(...series).toFixed(1)} MB, max ${Math.max(...series).toFixed(1)} MB`,
    );
    console.log('\n| when | RSS | heap used | descriptors | children | sessions |');
    console.log('|---|---|---|---|---|---|');
    console.log(`| start (idle) | — | — | ${baseline.fds} | ${baseline.children} | 0 |`);
    for (const [when, r] of [
      ['after warm-up', warm],
      ['end of load', loaded],
      ['settled (idle)', { ...settled, fds: fdsNow }],
    ] as const)
      console.log(
        `| ${when} | ${r.rss.toFixed(1)} MB | ${r.heap.toFixed(1)} MB | ${r.fds} | ${r.children} | ${r.sessions} |`,
      );
    console.log('\n| goal | result | measured |');
    console.log('|---|---|---|');
    for (const [goal, ok, what] of goals) console.log(`| ${goal} | ${ok ? 'PASS' : 'FAIL'} | ${what} |`);
    code = goals.every(([, ok]) => ok) ? 0 : 1;
    if (code !== 0) for (const l of stderr.slice(-20)) console.log(`daemon: ${l}`);
  } finally {
    for (const t of timers) clearInterval(t);
    await daemon.stop();
    if (code === 0) ws.remove();
    else console.log(`workspace kept for a look: ${ws.dir}`);
  }
  return code;
}

function format(r: Reading): string {
  return `RSS ${r.rss.toFixed(1)} MB, heap ${r.heap.toFixed(1)} MB, ${r.fds} descriptors, ${r.children} children, ${r.sessions} sessions`;
}

process.exit(await main());
