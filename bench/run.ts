/**
 * `npm run bench`: measures (never asserts) the budgets of the README's Performance section and of
 * docs/architecture.md ("Not slower"), with a direct stdio connection to the same server and a lean
 * no-auth proxy in the same run as baselines. Prints markdown tables.
 */
import { spawn, spawnSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch, request, type Dispatcher } from 'undici';
import { checkConfig, loadConfig, type Config } from '../lib/config/index.js';
import { checkCall } from '../lib/policy/index.js';
import { startDaemonProcess } from '../lib/dev/index.js';
import { initialize } from '../lib/setup/index.js';
import { LoginStore } from '../lib/store/index.js';
import {
  DpopKey,
  DpopReplayCache,
  loadSigningKey,
  loadTrustedKeys,
  mintAccessToken,
  verifyAccessToken,
  verifyDpopProof,
  VerifiedTokenCache,
} from '../lib/token/index.js';
import { daemonConfig, NOTES_SERVER } from '../test/helpers/daemon-harness.js';
import { workspace } from '../test/helpers/workspace.js';
import { cpuMs, ms, percentile, rssMb, sequential, throughput } from './stats.js';
import { auditLineCost } from './audit.js';

// The SDK's HTTP transport adds an abort listener per call to one long-lived signal.
setMaxListeners(100_000);

const CALLS = Number(process.env['BENCH_CALLS'] ?? 3000);
const LOAD = Number(process.env['BENCH_LOAD'] ?? 6000);
const SESSIONS = 30;
const ECHO = { name: 'echo', arguments: { message: 'x' } };

interface Row {
  readonly path: string;
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly setup: number;
  /** CPU the proxy process (not its child) spent per tools/call, in ms; undefined for direct stdio. */
  readonly cpu: number | undefined;
}

/** `proxyPid`: the process between client and child, whose CPU per call is measured over the timed calls. */
async function measure(path: string, connect: () => Promise<Client>, proxyPid?: number): Promise<Row> {
  const client = await connect();
  await sequential(300, () => client.callTool(ECHO));
  const cpuBefore = proxyPid ? cpuMs(proxyPid) : 0;
  const lat = await sequential(CALLS, () => client.callTool(ECHO));
  const rps = await throughput(LOAD, 16, () => client.callTool(ECHO));
  const cpu = proxyPid ? (cpuMs(proxyPid) - cpuBefore) / (CALLS + LOAD) : undefined;
  await close(client);
  const setups = await sequential(SESSIONS, async () => close(await connect()));
  return { path, p50: percentile(lat, 50), p99: percentile(lat, 99), rps, setup: percentile(setups, 50), cpu };
}

/** bench/lean-proxy.ts on a Unix socket, as its own process like the daemon. */
async function startLeanProxy(socket: string): Promise<{ pid: number; stop: () => void }> {
  const script = fileURLToPath(new URL('./lean-proxy.js', import.meta.url));
  const child = spawn(process.execPath, [script, socket, NOTES_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lean proxy exited (${code})`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('listening')) resolve();
    });
  });
  return { pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

/** bench/daemon.ts for the config, the audit chain on or off; stop() waits for it to exit (its sockets gone). */
async function startBenchDaemon(
  file: string,
  chain: 'on' | 'off',
): Promise<{ pid: number; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL('./daemon.js', import.meta.url));
  const child = spawn(process.execPath, [script, file, chain], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench daemon exited (${code})`)));
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

/** The daemon over its Unix socket with the audit hash chain and checkpoints on, then off: one row each. */
async function chainRows(config: Config, token: string): Promise<{ on: Row; off: Row }> {
  const row = async (chain: 'on' | 'off', path: string) => {
    const daemon = await startBenchDaemon(config.file, chain);
    const listen = config.servers.get('notes')!.listen;
    const agent = new Agent({ connect: { socketPath: listen.kind === 'unix' ? listen.path : '' } });
    const result = await measure(path, httpClient('http://localhost/mcp', agent, token), daemon.pid);
    await agent.close();
    await daemon.stop();
    return result;
  };
  // One run each is at the mercy of whatever else the machine does: alternate, and keep each mode's best.
  const runs: { on: Row[]; off: Row[] } = { on: [], off: [] };
  for (let round = 0; round < CHAIN_ROUNDS; round++) {
    runs.on.push(await row('on', `daemon, Unix socket, audit hash chain + checkpoints on (best of ${CHAIN_ROUNDS})`));
    runs.off.push(
      await row('off', `daemon, Unix socket, audit hash chain + checkpoints off (best of ${CHAIN_ROUNDS})`),
    );
  }
  return { on: best(runs.on), off: best(runs.off) };
}

const CHAIN_ROUNDS = 3;

/** Each figure's best over runs of the same path (lowest times, highest throughput). */
function best(rows: readonly Row[]): Row {
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

async function close(client: Client): Promise<void> {
  const t = client.transport as StreamableHTTPClientTransport | undefined;
  if (t && 'terminateSession' in t) await t.terminateSession().catch(() => {});
  await client.close();
}

function httpClient(url: string, dispatcher: Dispatcher, token: string, dpop?: DpopKey): () => Promise<Client> {
  return async () => {
    const client = new Client({ name: 'bench', version: '1' });
    const viaDispatcher = (u: string | URL, init?: RequestInit) =>
      undiciFetch(u, { ...(init as object), dispatcher } as never);
    // RFC 9449: a fresh proof per request, signed on the client as gatekit connect does.
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

interface StartupTimes {
  readonly node: number;
  readonly token: number;
}

/** package.json's `bin`: the file `npm install` links as `gatekit` (the esbuild bundle, scripts/build.mjs). */
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);
const { bin } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { bin: Record<string, string> };
const SHIPPED_BIN = fileURLToPath(new URL(bin['gatekit']!, PACKAGE_JSON));

async function cliStartup(config: Config, env: NodeJS.ProcessEnv, token: string): Promise<StartupTimes> {
  const store = new LoginStore(config.idp!.issuer, config.idp!.client_id, config.file, env);
  const resource = config.servers.get('notes')!.resource;
  store.writeToken({
    access_token: token,
    expires_at: Math.floor(Date.now() / 1000) + 3000,
    issued_at: 0,
    server: 'notes',
    resource,
    issuer: config.broker.issuer,
    scope: 'tools:*',
    jti: 'bench',
  });
  const time = (args: string[], expected: string) => {
    const runs: number[] = [];
    for (let i = 0; i < 25; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env } });
      runs.push(performance.now() - t);
      if (r.status !== 0 || r.stdout.toString() !== expected) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    }
    return percentile(runs, 50);
  };
  time(['-e', '0'], '');
  return {
    node: time(['-e', '0'], ''),
    token: time([SHIPPED_BIN, 'broker', 'token', '--resource', 'notes'], `${token}\n`),
  };
}

/** Argument rules per tools/call, in-process: a path_under + schema rule vs a server without rules (calls/s). */
async function ruleCost(): Promise<{ ruled: number; bare: number }> {
  const schema = '{"type":"object","required":["path"],"properties":{"path":{"type":"string","maxLength":1024}}}';
  const config = checkConfig('/bench/gatekit.toml', {
    broker: { signing_key: '/nonexistent' },
    servers: {
      ruled: {
        command: ['true'],
        allow_users: ['*'],
        rule: [{ tools: ['read_*'], args: { path: { path_under: ['/srv/shared'] } }, schema }],
      },
      bare: { command: ['true'], allow_users: ['*'] },
    },
  });
  const args = { path: '/srv/shared/docs/q3.txt' };
  const call = { user: 'alice@example.com', groups: ['eng'], tool: 'read_file', args, auth_time: 0, now: 0 };
  const rate = async (name: string) => {
    const server = config.servers.get(name)!;
    const times = await sequential(50_000, async () => {
      if (!checkCall(server, call).allowed) throw new Error('refused');
    });
    return 1000 / (times.reduce((a, b) => a + b) / times.length);
  };
  return { ruled: await rate('ruled'), bare: await rate('bare') };
}

async function main(): Promise<void> {
  const ws = workspace(await daemonConfig('', ''));
  ws.write(
    readFileSync(ws.config, 'utf8')
      .replace('max_sessions_per_user = 4', 'max_sessions_per_user = 64')
      .replace('max_children = 6', 'max_children = 64'),
  );
  const config = loadConfig({ config: ws.config });
  await initialize(config, { force: false });
  const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
  const token = async (server: string, jkt?: string) =>
    (
      await mintAccessToken(key, {
        identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
        issuer: config.broker.issuer,
        resource: config.servers.get(server)!.resource,
        scope: 'tools:*',
        clientId: 'gatekit-cli',
        userClaim: 'email',
        ttl: 3600,
        jkt,
      })
    ).token;
  const daemon = await startDaemonProcess(config, process.env, () => {});
  const pid = daemon.child.pid!;
  const rssIdle = rssMb(pid);
  const unix = new Agent({ connect: { socketPath: join(ws.dir, 'run', 'notes.sock') } });
  const tlsFiles = config.daemon.client_tls!;
  const mtls = new Agent({
    connect: { ca: readFileSync(tlsFiles.ca), cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) },
  });
  const tlsListen = config.servers.get('tls')!.listen;

  const leanSocket = join(ws.dir, 'run', 'lean.sock');
  const lean = await startLeanProxy(leanSocket);
  const leanAgent = new Agent({ connect: { socketPath: leanSocket } });

  const rows: Row[] = [];
  rows.push(
    await measure('direct stdio (SDK client → notes fixture)', async () => {
      const client = new Client({ name: 'bench', version: '1' });
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [NOTES_SERVER] }));
      return client;
    }),
  );
  const leanRow = await measure(
    'lean no-auth proxy, Unix socket (node:http → stdio child, raw JSON-RPC)',
    httpClient('http://localhost/mcp', leanAgent, 'none'),
    lean.pid,
  );
  rows.push(leanRow);
  lean.stop();
  let rssLoad = 0;
  const sampler = setInterval(() => {
    rssLoad = Math.max(rssLoad, rssMb(pid));
  }, 50);
  const daemonRow = await measure(
    'daemon, Unix socket (SDK client, Streamable HTTP)',
    httpClient('http://localhost/mcp', unix, await token('notes')),
    pid,
  );
  rows.push(daemonRow);
  const dpopKey = await DpopKey.generate();
  const dpopClient = httpClient('http://localhost/mcp', unix, await token('notes', dpopKey.jkt), dpopKey);
  rows.push(await measure('daemon, Unix socket, DPoP-bound token + proof per request', dpopClient, pid));
  const tlsUrl = `https://127.0.0.1:${tlsListen.kind === 'tcp' ? tlsListen.port : 0}/mcp`;
  const tlsClient = httpClient(tlsUrl, mtls, await token('tls'));
  rows.push(await measure('daemon, loopback mTLS (SDK client, Streamable HTTP)', tlsClient, pid));
  clearInterval(sampler);

  const bad = `${(await token('notes')).slice(0, -8)}AAAAAAAA`;
  const rejects = await sequential(2000, async () => {
    const res = await request('http://localhost/mcp', {
      method: 'POST',
      dispatcher: unix,
      headers: { host: 'localhost', authorization: `Bearer ${bad}`, 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
    });
    await res.body.dump();
    if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`);
  });
  const keys = await loadTrustedKeys(config.daemon.trusted_keys);
  const options = { keys, issuers: [config.broker.issuer], audience: 'urn:gatekit:server:notes' };
  const good = await token('notes');
  const cold = await sequential(2000, () => verifyAccessToken(good, options));
  const badVerify = await sequential(2000, () => verifyAccessToken(bad, options).catch(() => undefined));
  const cache = new VerifiedTokenCache();
  const hot = await sequential(20000, () => cache.verify(good, options));
  // DPoP: proofs are made ahead (signing is the client's cost), then each verified once, in-process.
  const bound = await token('notes', dpopKey.jkt);
  const proof = () => dpopKey.proof('POST', 'http://localhost/mcp', bound);
  const proofs = await Promise.all(Array.from({ length: 2000 }, proof));
  const replays = new DpopReplayCache();
  let next = 0;
  const check = { method: 'POST', url: 'http://localhost/mcp', accessToken: bound, replays };
  const proofChecks = await sequential(2000, () => verifyDpopProof(proofs[next++]!, check));
  const proofSigning = await sequential(2000, proof);
  await daemon.stop();
  const chain = await chainRows(config, await token('notes'));
  rows.push(chain.on, chain.off);
  const cli = await cliStartup(config, ws.env, await token('notes'));
  const audit = auditLineCost();
  const rules = await ruleCost();
  ws.remove();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\nGatekit bench — Node ${process.version}, ${cpus().length} × ${cpu}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `${CALLS} sequential tools/call (echo) for latency, ${LOAD} with 16 in flight for throughput, ${SESSIONS} sessions for set-up.\n`,
  );
  const columns = [
    'path',
    'p50 tools/call',
    'p99 tools/call',
    'calls/s (16 in flight)',
    'session set-up p50',
    'proxy CPU per call',
  ];
  console.log(`| ${columns.join(' | ')} |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const cpuPerCall = r.cpu === undefined ? '—' : ms(r.cpu);
    console.log(`| ${r.path} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.rps.toFixed(0)} | ${ms(r.setup)} | ${cpuPerCall} |`);
  }
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`;
  console.log('\n| daemon (Unix socket) ÷ lean no-auth proxy, same run | ratio | goal |');
  console.log('|---|---|---|');
  console.log(`| CPU per tools/call (proxy process only) | ${ratio(daemonRow.cpu, leanRow.cpu)} | ≤ 1.00× |`);
  console.log(`| p50 tools/call | ${ratio(daemonRow.p50, leanRow.p50)} | ≤ 1.00× |`);
  console.log(`| calls/s with 16 in flight | ${ratio(daemonRow.rps, leanRow.rps)} | ≥ 1.00× |`);
  console.log('\n| daemon (Unix socket), audit chain on ÷ off, same run | ratio | goal |');
  console.log('|---|---|---|');
  console.log(`| p50 tools/call | ${ratio(chain.on.p50, chain.off.p50)} | ≤ 1.05× |`);
  console.log(`| calls/s with 16 in flight | ${ratio(chain.on.rps, chain.off.rps)} | ≥ 0.95× |`);
  console.log('\n| measure | value |');
  console.log('|---|---|');
  console.log(`| daemon RSS before any child | ${rssIdle.toFixed(1)} MB |`);
  console.log(`| daemon RSS peak under load | ${rssLoad.toFixed(1)} MB |`);
  console.log(`| bad token rejected (HTTP round trip over the socket, p50) | ${ms(percentile(rejects, 50))} |`);
  console.log(`| bad token: signature check in-process (p50) | ${ms(percentile(badVerify, 50))} |`);
  console.log(
    `| token verification, uncached (per second) | ${(1000 / (cold.reduce((a, b) => a + b) / cold.length)).toFixed(0)} |`,
  );
  console.log(
    `| token verification, cached (per second) | ${(1000 / (hot.reduce((a, b) => a + b) / hot.length)).toFixed(0)} |`,
  );
  console.log(`| audit line, plain JSON + write(2) (in-process, mean) | ${audit.plainUs.toFixed(2)} µs |`);
  console.log(
    `| audit line, hash chain + checkpoint every 1000 (in-process, mean) | ${audit.chainedUs.toFixed(2)} µs (+${(audit.chainedUs - audit.plainUs).toFixed(2)} µs) |`,
  );
  console.log(
    `| tools/call args_digest (RFC 8785 + SHA-256) + traceparent (mean) | ${audit.digestAndTraceUs.toFixed(2)} µs |`,
  );
  console.log(`| argument rules, path_under + schema, in-process (checks per second) | ${rules.ruled.toFixed(0)} |`);
  console.log(`| argument rules, server without rules, in-process (checks per second) | ${rules.bare.toFixed(0)} |`);
  const proofRate = 1000 / (proofChecks.reduce((a, b) => a + b) / proofChecks.length);
  console.log(`| DPoP proof verification, ES256, in-process (per second) | ${proofRate.toFixed(0)} |`);
  console.log(`| DPoP proof signing, ES256, client side (p50) | ${ms(percentile(proofSigning, 50))} |`);
  console.log(`| \`node -e 0\` (p50) | ${ms(cli.node)} |`);
  const startRatio = cli.token / cli.node;
  const times = `${ms(cli.token)} = ${startRatio.toFixed(2)}× \`node -e 0\` (budget ≤ 1.5×)`;
  console.log(`| \`gatekit broker token\`, cached, the shipped bin (p50) | ${times} |`);
}

await main();
process.exit(0);
