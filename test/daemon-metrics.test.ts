import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { checkConfig, loadConfig } from '../lib/config/index.js';
import { initialize } from '../lib/setup/index.js';
import { GatekitError } from '../lib/errors.js';
import {
  daemonConfig,
  freePort,
  INITIALIZE,
  JSON_HEADERS,
  raw,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { parseExposition, sampleValue } from './helpers/prom-text.js';
import { workspace } from './helpers/workspace.js';

const HOSTILE_METHOD = 'evil"} 1\n# alice@example.com';
const HOSTILE_TOOL = 'alice@example.com",outcome="ok';
const RATE_RULE = `
[[servers.notes.rule]]
tools = ["whoami"]
rate = "1/h"
`;

async function withMetrics(listen: string): Promise<string> {
  return (await daemonConfig(RATE_RULE)).replace(
    'audit_log = "audit.jsonl"',
    `audit_log = "audit.jsonl"\nmetrics_listen = "${listen}"`,
  );
}

async function scrape(dispatcher: Agent, url = 'http://localhost/metrics', host?: string) {
  const res = await request(url, { dispatcher, headers: host ? { host } : {} });
  return { status: res.statusCode, type: res.headers['content-type'], body: await res.body.text() };
}

const call = (id: number, method: string, params?: object) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });

describe('daemon: /metrics (issue 22 item 4)', () => {
  let h: Harness;
  let metricsAgent: Agent;
  before(async () => {
    h = await startHarness(await withMetrics('unix:run/metrics.sock'));
    metricsAgent = new Agent({ connect: { socketPath: join(h.ws.dir, 'run', 'metrics.sock') } });
  });
  after(async () => {
    await metricsAgent.close();
    await h.close();
  });

  it('prom-client is loaded only with metrics_listen (the daemon’s memory budget)', async () => {
    // Each in a fresh process, starting the daemon over this workspace's keys: is prom-client in its module cache?
    const loads = async (toml: string) => {
      const ws = workspace(toml);
      try {
        const config = loadConfig({ config: ws.config });
        await initialize(config, { force: false });
        const script = `
          import { createRequire } from 'node:module';
          import { loadConfig } from ${JSON.stringify(new URL('../lib/config/index.js', import.meta.url).href)};
          import { startDaemon } from ${JSON.stringify(new URL('../lib/daemon/index.js', import.meta.url).href)};
          const daemon = await startDaemon(loadConfig({ config: ${JSON.stringify(ws.config)} }));
          const cache = Object.keys(createRequire(import.meta.url).cache);
          process.stdout.write(String(cache.some((f) => f.includes('/prom-client/'))));
          await daemon.stop();`;
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        return run.stdout;
      } finally {
        ws.remove();
      }
    };
    assert.equal(await loads(await daemonConfig()), 'false');
    assert.equal(await loads(await withMetrics('unix:run/metrics.sock')), 'true');
  });

  it('counts a scripted run exactly; no person, token or client-chosen name in any label', async () => {
    const token = await h.token('notes');
    const notes = h.unix('notes');
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const init = await raw(notes, 'POST', auth, INITIALIZE);
    assert.equal(init.status, 200);
    const sid = String(init.headers['mcp-session-id']);
    const inSession = { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    const post = async (body: string) => {
      const res = await raw(notes, 'POST', inSession, body);
      assert.ok(res.status === 200 || res.status === 202, `${res.status} ${res.body}`);
      return res.body;
    };
    await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    await post(call(2, 'tools/list'));
    for (let i = 0; i < 3; i++) await post(call(10 + i, 'tools/call', { name: 'echo', arguments: { message: 'm' } }));
    assert.match(await post(call(20, 'tools/call', { name: 'write_note', arguments: {} })), /not allowed/);
    assert.match(await post(call(21, 'tools/call', { name: HOSTILE_TOOL, arguments: {} })), /not allowed/);
    assert.match(await post(call(22, 'tools/call', { name: 'whoami', arguments: {} })), /"result"/);
    assert.match(await post(call(23, 'tools/call', { name: 'whoami', arguments: {} })), /rate/);
    assert.match(await post(call(24, HOSTILE_METHOD)), /"error"/);
    // A second session whose server crashes mid-call: a child start, a crash, a call that ends in error.
    const second = await raw(notes, 'POST', auth, INITIALIZE);
    const crashing = { ...inSession, 'mcp-session-id': String(second.headers['mcp-session-id']) };
    const crashed = await raw(notes, 'POST', crashing, call(30, 'tools/call', { name: 'crash', arguments: {} }));
    assert.match(crashed.body, /session ended/);
    assert.equal((await raw(notes, 'POST', JSON_HEADERS, INITIALIZE)).status, 401, 'no token');
    const bad = { ...JSON_HEADERS, authorization: `Bearer ${token.slice(0, -8)}AAAAAAAA` };
    assert.equal((await raw(notes, 'POST', bad, INITIALIZE)).status, 401, 'a bad signature');

    const res = await scrape(metricsAgent);
    assert.equal(res.status, 200);
    assert.match(String(res.type), /^text\/plain; version=0\.0\.4/);
    const m = parseExposition(res.body);
    const requests = (method: string, outcome: string) =>
      sampleValue(m, 'gatekit_requests_total', { server: 'notes', method, outcome });
    assert.equal(requests('initialize', 'ok'), 2);
    assert.equal(requests('notifications/initialized', 'ok'), 1);
    assert.equal(requests('tools/list', 'ok'), 1);
    assert.equal(requests('tools/call', 'ok'), 4, 'three echo calls and one whoami');
    assert.equal(requests('tools/call', 'denied'), 3, 'write_note, the hostile tool name, the second whoami');
    assert.equal(requests('tools/call', 'error'), 1, 'the crash');
    const other = m.samples.filter((s) => s.name === 'gatekit_requests_total' && s.labels['method'] === 'other');
    assert.equal(
      other.reduce((a, s) => a + s.value, 0),
      1,
      'the hostile method (refused by the gate, or by the server)',
    );
    assert.equal(requests('POST', 'refused'), 2, 'no token, a bad token');
    assert.equal(sampleValue(m, 'gatekit_rate_limit_refusals_total', { server: 'notes' }), 1);
    assert.equal(
      sampleValue(m, 'gatekit_token_verifications_total', { result: 'ok' }),
      1,
      'verified once, then cached',
    );
    assert.equal(sampleValue(m, 'gatekit_token_verifications_total', { result: 'failed' }), 1);
    assert.equal(sampleValue(m, 'gatekit_child_starts_total', { server: 'notes' }), 2);
    assert.equal(sampleValue(m, 'gatekit_child_crashes_total', { server: 'notes' }), 1);
    assert.equal(sampleValue(m, 'gatekit_sessions', { server: 'notes', era: 'session' }), 1);
    assert.equal(sampleValue(m, 'gatekit_children', { server: 'notes' }), 1);
    assert.equal(sampleValue(m, 'gatekit_streams'), 0);
    assert.equal(sampleValue(m, 'gatekit_audit_fail_closed'), 0);
    assert.equal(sampleValue(m, 'gatekit_audit_write_failures_total'), 0);
    const count = (method: string) =>
      sampleValue(m, 'gatekit_request_duration_seconds_count', { server: 'notes', method });
    assert.equal(count('tools/call'), 5, 'calls that reached the server: echo ×3, whoami, crash');
    assert.equal(count('initialize'), 2);
    assert.equal(m.types.get('gatekit_request_duration_seconds'), 'histogram');
    assert.ok((sampleValue(m, 'nodejs_heap_size_used_bytes') ?? 0) > 0, 'process metrics on the private registry');
    assert.ok((sampleValue(m, 'process_open_fds') ?? 0) > 0);

    // Every terminal audit line is counted once, and nothing else is.
    const terminal = h.audit().filter((l) => ['request', 'denied', 'auth.failed'].includes(String(l['event'])));
    const counted = m.samples.filter((s) => s.name === 'gatekit_requests_total').reduce((a, s) => a + s.value, 0);
    assert.equal(counted, terminal.length);

    // Labels hold only configured servers, listed methods, fixed outcomes: never a person, token or chosen name.
    const methods = new Set(
      m.samples.filter((s) => s.name === 'gatekit_requests_total').map((s) => s.labels['method']),
    );
    assert.deepEqual([...methods].sort(), [
      'POST',
      'initialize',
      'notifications/initialized',
      'other',
      'tools/call',
      'tools/list',
    ]);
    for (const secret of ['alice', 'example.com', 'sub-', token, token.split('.')[1]!, 'evil', 'AAAAAAAA'])
      assert.ok(!res.body.includes(secret), `the metrics hold ${secret.slice(0, 20)}`);
  });

  it('counts an open GET stream while it is open', async () => {
    const token = await h.token('notes');
    const notes = h.unix('notes');
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const sid = String((await raw(notes, 'POST', auth, INITIALIZE)).headers['mcp-session-id']);
    const stream = await request('http://localhost/mcp', {
      dispatcher: notes,
      headers: {
        host: 'localhost',
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        'mcp-session-id': sid,
      },
    });
    assert.equal(stream.statusCode, 200);
    assert.equal(sampleValue(parseExposition((await scrape(metricsAgent)).body), 'gatekit_streams'), 1);
    const closed = new Promise((r) => stream.body.once('close', r));
    stream.body.destroy();
    await closed;
    await raw(notes, 'DELETE', { ...auth, 'mcp-session-id': sid });
    // The stream's close reaches the daemon after the DELETE answered (it ended the session and its stream).
    assert.equal(sampleValue(parseExposition((await scrape(metricsAgent)).body), 'gatekit_streams'), 0);
  });

  it('is never served on an MCP listener; its own socket is 0600 and answers GET /metrics only', async () => {
    const onMcp = await raw(h.unix('notes'), 'GET', {}, undefined, '/metrics');
    assert.equal(onMcp.status, 404);
    assert.ok(!onMcp.body.includes('gatekit_'), 'the MCP socket does not serve metrics');
    assert.equal(statSync(join(h.ws.dir, 'run', 'metrics.sock')).mode & 0o777, 0o600);
    assert.equal((await scrape(metricsAgent, 'http://localhost/mcp')).status, 404);
    const posted = await request('http://localhost/metrics', { dispatcher: metricsAgent, method: 'POST', body: '' });
    await posted.body.dump();
    assert.equal(posted.statusCode, 405);
  });
});

describe('daemon: /metrics and tallied door refusals', () => {
  it('counts each anonymous refusal once: those with a line at once, the tallied ones when their window closes', async (t) => {
    const h = await startHarness(await withMetrics('unix:run/metrics.sock'));
    const agent = new Agent({ connect: { socketPath: join(h.ws.dir, 'run', 'metrics.sock') } });
    t.after(async () => {
      await agent.close();
      await h.close();
    });
    const refused = async () =>
      sampleValue(parseExposition((await scrape(agent)).body), 'gatekit_requests_total', {
        server: 'notes',
        method: 'POST',
        outcome: 'refused',
      });
    for (let i = 0; i < 7; i++)
      assert.equal((await raw(h.unix('notes'), 'POST', JSON_HEADERS, INITIALIZE)).status, 401);
    // Three lines as they are, a start line, then three only counted (lib/daemon/refusal-tally.ts).
    assert.equal(await refused(), 4);
    await h.daemon.reload(); // ends the window: one line with the count
    assert.equal(await refused(), 7);
    const lines = h.audit().filter((l) => l['event'] === 'auth.failed');
    assert.equal(
      lines.reduce((a, l) => a + (l['aggregate'] === 'end' ? Number(l['count']) : 1), 0),
      7,
      'the audit log says the same',
    );
  });
});

describe('daemon: metrics_listen on loopback TCP', () => {
  it('two daemons in one process keep their own registries; a foreign Host is refused', async () => {
    const port = await freePort();
    // The suite's first daemon is still running in this process only if the describe above left one: start two.
    const one = await startHarness(await withMetrics(`127.0.0.1:${port}`));
    const other = await startHarness(await withMetrics(`127.0.0.1:${await freePort()}`));
    const agent = new Agent();
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      const ok = await scrape(agent, url);
      assert.equal(ok.status, 200);
      assert.equal(sampleValue(parseExposition(ok.body), 'gatekit_child_starts_total', { server: 'notes' }), 0);
      assert.equal((await scrape(agent, url, 'attacker.example:80')).status, 403, 'DNS rebinding');
    } finally {
      await agent.close();
      await other.close();
      await one.close();
    }
  });
});

describe('daemon: /metrics while the audit log cannot be written', () => {
  it('gatekit_audit_fail_closed is 1 and write failures count while the disk is full, 0 again after', async (t) => {
    const mnt = mkdtempSync(join(tmpdir(), 'gatekit-metrics-fs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      rmSync(mnt, { recursive: true, force: true });
      return t.skip('cannot mount a tmpfs here (needs root and mount permission)');
    }
    const file = join(mnt, 'audit.jsonl');
    const h = await startHarness(
      (await withMetrics('unix:run/metrics.sock')).replace('audit_log = "audit.jsonl"', `audit_log = "${file}"`),
    );
    const agent = new Agent({ connect: { socketPath: join(h.ws.dir, 'run', 'metrics.sock') } });
    t.after(async () => {
      await agent.close();
      await h.close();
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${await h.token('notes')}` };
    const init = await raw(h.unix('notes'), 'POST', auth, INITIALIZE);
    const session = { ...auth, 'mcp-session-id': String(init.headers['mcp-session-id']) };
    const echo = (id: number) =>
      raw(h.unix('notes'), 'POST', session, call(id, 'tools/call', { name: 'echo', arguments: { message: 'm' } }));
    const gauges = async () => {
      const m = parseExposition((await scrape(agent)).body);
      return [sampleValue(m, 'gatekit_audit_fail_closed'), sampleValue(m, 'gatekit_audit_write_failures_total')];
    };
    assert.deepEqual(await gauges(), [0, 0]);

    const filler = join(mnt, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(128 * 1024, 1));
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    let status = 200;
    for (let id = 1; id < 500 && status !== 503; id++) status = (await echo(id)).status;
    assert.equal(status, 503, 'refused once the audit log could not be written');
    const [closed, failures] = await gauges();
    assert.equal(closed, 1);
    assert.ok(failures! >= 1, `write failures: ${failures}`);

    unlinkSync(filler);
    assert.equal((await echo(1000)).status, 200, 'serves again');
    assert.equal((await gauges())[0], 0);
  });
});

describe('config: [daemon] metrics_listen', () => {
  const load = (metrics: string, extra = {}) =>
    checkConfig('/etc/gatekit/gatekit.toml', {
      broker: { signing_key: '/nonexistent' },
      daemon: { metrics_listen: metrics, ...extra },
      servers: { notes: { command: ['true'], allow_users: ['*'], listen: 'unix:/run/gatekit/notes.sock' } },
    });
  const refused = (metrics: string, pattern: RegExp, extra = {}) =>
    assert.throws(
      () => load(metrics, extra),
      (err: unknown) => err instanceof GatekitError && err.code === 'CONFIG_INVALID' && pattern.test(err.message),
    );

  it('is off by default and takes a Unix socket or a loopback address', () => {
    assert.equal(
      checkConfig('/etc/gatekit/gatekit.toml', { broker: { signing_key: '/x' } }).daemon.metrics_listen,
      undefined,
    );
    assert.deepEqual(load('unix:/run/gatekit/metrics.sock').daemon.metrics_listen, {
      kind: 'unix',
      path: '/run/gatekit/metrics.sock',
    });
    assert.deepEqual(load('127.0.0.1:9464').daemon.metrics_listen, { kind: 'tcp', host: '127.0.0.1', port: 9464 });
  });

  it('refuses an address off loopback, naming the key', () => {
    refused('0.0.0.0:9464', /daemon\.metrics_listen.*loopback/);
    refused('192.0.2.1:9464', /daemon\.metrics_listen/);
    refused('metrics.example:9464', /daemon\.metrics_listen/);
    refused('nonsense', /daemon\.metrics_listen/);
  });

  it("refuses an MCP server's or the token endpoint's address", () => {
    refused('unix:/run/gatekit/notes.sock', /daemon\.metrics_listen" is the same as "servers\.notes\.listen/);
    refused('unix:/run/gatekit/token.sock', /daemon\.metrics_listen" is the same as "daemon\.token_listen/, {
      token_listen: 'unix:/run/gatekit/token.sock',
    });
  });
});
