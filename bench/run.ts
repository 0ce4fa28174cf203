/**
 * `npm run bench`: measures (never asserts) the budgets of the README's Performance section and of
 * docs/architecture.md ("Not slower"), with a direct stdio connection to the same server and a lean
 * no-auth proxy in the same run as baselines. Prints markdown tables.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Agent, request } from 'undici';
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
import { ms, percentile, rssMb, sequential } from './stats.js';
import { auditLineCost } from './audit.js';
import { CALLS, httpClient, LOAD, measure, SESSIONS, WARM_UP, type Row } from './measure.js';
import { v2DirectRow } from './modern.js';
import { bindingRounds, type BindingRatios } from './binding.js';
import { leanAndChainRounds, ROUNDS, spread } from './rounds.js';

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

  const rows: Row[] = [];
  rows.push(
    await measure('direct stdio (SDK client → notes fixture)', async () => {
      const client = new Client({ name: 'bench', version: '1' });
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [NOTES_SERVER] }));
      return client;
    }),
  );
  let rssLoad = 0;
  const sampler = setInterval(() => {
    rssLoad = Math.max(rssLoad, rssMb(pid));
  }, 50);
  const daemonRow = await measure(
    'daemon (`gatekit daemon`), Unix socket (SDK client, Streamable HTTP)',
    httpClient('http://localhost/mcp', unix, await token('notes')),
    pid,
  );
  rows.push(daemonRow);
  const tlsUrl = `https://127.0.0.1:${tlsListen.kind === 'tcp' ? tlsListen.port : 0}/mcp`;
  const tlsClient = httpClient(tlsUrl, mtls, await token('tls'));
  rows.push(await measure('daemon, loopback mTLS (SDK client, Streamable HTTP)', tlsClient, pid));
  clearInterval(sampler);
  rows.push(await v2DirectRow());
  const binding = await bindingRounds(unix, (jkt) => token('notes', jkt), pid);
  rows.push(...Object.values(binding.rows));
  if (process.env['BENCH_ONLY'] === 'binding') {
    await daemon.stop();
    ws.remove();
    return printBinding(rows, binding.ratios);
  }

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
  const proofBench = async (key: DpopKey) => {
    const bound = await token('notes', key.jkt);
    const proof = () => Promise.resolve(key.proof('POST', 'http://localhost/mcp', bound));
    const proofs = await Promise.all(Array.from({ length: 2000 }, proof));
    const check = { method: 'POST', url: 'http://localhost/mcp', accessToken: bound, replays: new DpopReplayCache() };
    let next = 0;
    const checks = await sequential(2000, () => Promise.resolve(verifyDpopProof(proofs[next++]!, check)));
    return { checks, signing: await sequential(2000, proof) };
  };
  const proofRuns: Record<string, Awaited<ReturnType<typeof proofBench>>> = {};
  for (const alg of ['PS256', 'ES256', 'EdDSA'] as const)
    proofRuns[alg] = await proofBench(await DpopKey.generate(alg));
  await daemon.stop();
  const rounds = await leanAndChainRounds(config, join(ws.dir, 'run'), await token('notes'));
  rows.splice(1, 0, rounds.lean, rounds.secured);
  rows.push(rounds.on, rounds.off);
  const cli = await cliStartup(config, ws.env, await token('notes'));
  const audit = auditLineCost();
  const rules = await ruleCost();
  ws.remove();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\nGatekit bench — Node ${process.version}, ${cpus().length} × ${cpu}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `${CALLS} sequential tools/call (echo) for latency, ${LOAD} with 16 in flight for throughput, ${SESSIONS} ` +
      `sessions for set-up, after ${WARM_UP} warm-up calls; ${ROUNDS} alternating rounds of lean proxy / daemon.\n`,
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
  const per = (pick: (r: (typeof rounds.ratios)[number]) => number) => spread(rounds.ratios.map(pick));
  console.log(
    `\n| daemon (Unix socket) ÷ lean no-auth proxy, per round: median (min–max of ${ROUNDS}) | ratio | goal |`,
  );
  console.log('|---|---|---|');
  console.log(`| CPU per tools/call (proxy process only) | ${per((r) => r.cpu)} | ≤ 1.00× |`);
  console.log(`| p50 tools/call | ${per((r) => r.p50)} | ≤ 1.00× |`);
  console.log(`| calls/s with 16 in flight | ${per((r) => r.rps)} | ≥ 1.00× |`);
  console.log(
    `\n| daemon (Unix socket) ÷ lean proxy doing the same security work, per round: median (min–max) | ratio | goal |`,
  );
  console.log('|---|---|---|');
  console.log(`| CPU per tools/call (proxy process only) | ${per((r) => r.securedCpu)} | ≤ 1.00× |`);
  console.log(`| p50 tools/call | ${per((r) => r.securedP50)} | ≤ 1.00× |`);
  console.log(`| calls/s with 16 in flight | ${per((r) => r.securedRps)} | ≥ 1.00× |`);
  console.log(`\n| daemon (Unix socket), audit chain on ÷ off, per round: median (min–max) | ratio | goal |`);
  console.log('|---|---|---|');
  console.log(`| p50 tools/call | ${per((r) => r.chainP50)} | ≤ 1.05× |`);
  console.log(`| calls/s with 16 in flight | ${per((r) => r.chainRps)} | ≥ 0.95× |`);
  printBinding([], binding.ratios);
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
  for (const [alg, run] of Object.entries(proofRuns)) {
    const proofRate = 1000 / (run.checks.reduce((a, b) => a + b) / run.checks.length);
    console.log(`| DPoP proof verification, ${alg}, in-process (per second) | ${proofRate.toFixed(0)} |`);
    console.log(`| DPoP proof signing, ${alg}, client side (p50) | ${ms(percentile(run.signing, 50))} |`);
  }
  console.log(`| \`node -e 0\` (p50) | ${ms(cli.node)} |`);
  const startRatio = cli.token / cli.node;
  const times = `${ms(cli.token)} = ${startRatio.toFixed(2)}× \`node -e 0\` (budget ≤ 1.5×)`;
  console.log(`| \`gatekit broker token\`, cached, the shipped bin (p50) | ${times} |`);
}

/** The DPoP and stateless-era ratio tables (bench/binding.ts), after `rows` when given. */
function printBinding(rows: readonly Row[], ratios: readonly BindingRatios[]): void {
  for (const r of rows)
    console.log(
      `| ${r.path} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.rps.toFixed(0)} | ${r.cpu === undefined ? '—' : ms(r.cpu)} |`,
    );
  const bound = (pick: (r: BindingRatios) => number) => spread(ratios.map(pick));
  console.log(`\n| DPoP-bound ÷ bearer token, same client, per round: median (min–max of ${ROUNDS}) | ratio | goal |`);
  console.log('|---|---|---|');
  console.log(
    `| daemon CPU per tools/call, proofs as \`gatekit connect\` signs (PS256) | ${bound((r) => r.connectCpu)} | ≤ 1.20× |`,
  );
  console.log(
    `| p50 tools/call, proofs as \`gatekit connect\` signs (PS256) | ${bound((r) => r.connectP50)} | ≤ 1.15× |`,
  );
  console.log(
    `| daemon CPU per tools/call, ES256 proofs from the SDK v2 client | ${bound((r) => r.v2Cpu)} | ≤ 1.20× |`,
  );
  console.log(`| p50 tools/call, ES256 proofs from the SDK v2 client | ${bound((r) => r.v2P50)} | ≤ 1.15× |`);
  console.log(
    `\n| SDK v2 client: 2026-07-28 stateless ÷ session era, per round: median (min–max of ${ROUNDS}) | ratio | goal |`,
  );
  console.log('|---|---|---|');
  console.log(`| p50 tools/call | ${bound((r) => r.statelessP50)} | ≤ 1.05× |`);
  console.log(`| calls/s with 16 in flight | ${bound((r) => r.statelessRps)} | ≥ 0.95× |`);
  console.log(`| daemon CPU per tools/call | ${bound((r) => r.statelessCpu)} | — |`);
}

await main();
process.exit(0);
