import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { stopBoundMs } from '../lib/daemon/index.js';
import { startDaemonProcess } from '../lib/dev/index.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import {
  BROKER_ISSUER,
  daemonConfig,
  freePort,
  endSession,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { collect, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { describePids, groupMembers, REPO, running, treeServers } from './helpers/process-tree.js';
import { workspace } from './helpers/workspace.js';

const sessionOf = (client: Client) => (client.transport as StreamableHTTPClientTransport).sessionId!;

/** Opens a session on `server` and makes its tree stubborn: the fixture's pid, server-everything's log timer. */
async function treeSession(h: Harness, server: 'stubborn' | 'npx', user = 'alice@example.com') {
  const client = await sdkClient(h, server, await h.token(server, { user }));
  const session = h.daemon.sessions.get(sessionOf(client))!;
  const pgid = session.child.process.pid!;
  if (server === 'stubborn') {
    const result = await client.callTool({ name: 'pid', arguments: {} });
    const grandchild = Number((result.content as Array<{ text: string }>)[0]!.text);
    assert.notEqual(grandchild, pgid, 'the server is the grandchild, behind sh -c');
    assert.ok(groupMembers(pgid).includes(grandchild));
  } else {
    const result = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    assert.match(JSON.stringify(result), /Started simulated/);
  }
  const members = groupMembers(pgid);
  assert.ok(members.length >= 2, `a wrapper and its server: ${describePids(members)}`);
  return { client, session, pgid, members };
}

function assertGone(pgid: number, members: readonly number[]): void {
  const left = [...new Set([...groupMembers(pgid), ...members.filter(running)])];
  assert.deepEqual(left, [], `left running: ${describePids(left)}`);
}

describe('daemon: a child is its own process group, and its end ends the whole tree', () => {
  let h: Harness;
  before(async () => {
    const toml = await daemonConfig(treeServers());
    h = await startHarness(toml.replace('max_sessions_per_user = 4', 'max_sessions_per_user = 1'));
  });
  after(async () => {
    await h.close();
  });

  for (const server of ['stubborn', 'npx'] as const) {
    it(`${server}: DELETE ends the wrapper and the server that ignores SIGTERM or keeps a timer`, async () => {
      const { client, pgid, members } = await treeSession(h, server);
      await endSession(client);
      assertGone(pgid, members);
      assert.ok(h.audit().some((l) => l['event'] === 'session.end' && l['reason'] === 'closed by the client'));
    });

    it(`${server}: an eviction ends the whole tree`, async () => {
      const first = await treeSession(h, server, 'bob@example.com');
      // max_sessions_per_user = 1: bob's second session evicts his first.
      const second = await sdkClient(h, server, await h.token(server, { user: 'bob@example.com' }));
      assert.ok(first.session.ended, 'evicted');
      await first.session.child.stop(); // the eviction's own stop, awaited: stop() is one promise per child
      assertGone(first.pgid, first.members);
      assert.ok(h.audit().some((l) => l['event'] === 'session.end' && l['reason'] === 'evicted'));
      await first.client.close();
      await endSession(second);
    });
  }

  it('a daemon stop ends every tree, within drain_timeout and the kill grace', async () => {
    const trees = [await treeSession(h, 'stubborn'), await treeSession(h, 'npx', 'bob@example.com')];
    const started = performance.now();
    await h.daemon.stop();
    const tookMs = performance.now() - started;
    for (const t of trees) assertGone(t.pgid, t.members);
    assert.ok(tookMs <= stopBoundMs(h.config.daemon.limits.drain_timeout), `stop took ${tookMs} ms`);
    await Promise.all(trees.map((t) => t.client.close().catch(() => {})));
  });
});

describe('gatekit daemon (a real process): SIGTERM with stubborn trees exits within its bound', () => {
  it('after DELETE-less sessions on both servers, SIGTERM ends every tree and the daemon exits 0 in time', async (t) => {
    const ws = workspace(await daemonConfig(treeServers(), 'drain_timeout = "2s"'));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    await initialize(config, { force: false });
    const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
    const daemon = await startDaemonProcess(config, { ...process.env }, () => {});
    t.after(() => daemon.stop());
    const agents = new Map<string, Agent>();
    const harness = {
      config,
      unix: (name: string) => {
        const listen = config.servers.get(name)!.listen;
        const agent = new Agent({ connect: { socketPath: listen.kind === 'unix' ? listen.path : '' } });
        agents.set(name, agent);
        return agent;
      },
    } as unknown as Harness;
    t.after(() => Promise.all([...agents.values()].map((a) => a.close())));
    const token = async (server: string) =>
      (
        await mintAccessToken(key, {
          identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
          issuer: BROKER_ISSUER,
          resource: config.servers.get(server)!.resource,
          scope: 'tools:*',
          clientId: 'gatekit-cli',
          userClaim: 'email',
          ttl: 300,
        })
      ).token;
    const stubborn = await sdkClient(harness, 'stubborn', await token('stubborn'));
    await stubborn.callTool({ name: 'pid', arguments: {} });
    const everything = await sdkClient(harness, 'npx', await token('npx'));
    await everything.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    const audit = () =>
      readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const groups = audit()
      .filter((l) => l.event === 'session.start')
      .map((l) => l.pid as number);
    const members = groups.flatMap(groupMembers);
    assert.equal(groups.length, 2);
    assert.ok(members.length >= 4, describePids(members));

    const boundMs = stopBoundMs(config.daemon.limits.drain_timeout);
    const exited = new Promise<number | null>((resolve) => daemon.child.once('exit', (code) => resolve(code)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), boundMs);
    });
    daemon.child.kill('SIGTERM');
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    assert.equal(outcome, 0, `the daemon exits 0 within ${boundMs} ms`);
    for (const pgid of groups) assertGone(pgid, members);
    assert.equal(audit().at(-2).event, 'daemon.stop');
    await Promise.all([stubborn, everything].map((c) => c.close().catch(() => {})));
  });
});

describe('gatekit dev: Ctrl-C with a stubborn tree open', () => {
  it('dev stops within the bound, ends the tree and frees its port', async (t) => {
    const idpPort = await freePort();
    const toml = readFileSync(join(REPO, 'gatekit.toml'), 'utf8')
      .replaceAll('"node_modules/', `"${REPO}node_modules/`)
      .replaceAll('"dist/fixtures/', `"${REPO}dist/fixtures/`)
      .replace('127.0.0.1:7400', `127.0.0.1:${idpPort}`)
      .replace('127.0.0.1:7401', `127.0.0.1:${await freePort()}`);
    const ws = workspace(`${toml}\n${treeServers('"alice@example.com"')}`);
    t.after(() => ws.remove());
    const dev = spawnGatekit(['dev'], { env: ws.env });
    const done = collect(dev, { timeoutMs: 120_000 });
    t.after(() => dev.kill('SIGKILL'));
    await waitForStderr(dev, /Ctrl-C stops it/, 60_000);
    const config = loadConfig({ config: ws.config });
    const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
    const { token } = await mintAccessToken(key, {
      identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
      issuer: config.broker.issuer,
      resource: config.servers.get('stubborn')!.resource,
      scope: 'tools:*',
      clientId: 'gatekit-cli',
      userClaim: 'email',
      ttl: 300,
    });
    const listen = config.servers.get('stubborn')!.listen;
    const agent = new Agent({ connect: { socketPath: listen.kind === 'unix' ? listen.path : '' } });
    t.after(() => agent.close());
    const client = await sdkClient({ config, unix: () => agent } as unknown as Harness, 'stubborn', token);
    const grandchild = Number(
      ((await client.callTool({ name: 'pid', arguments: {} })).content as Array<{ text: string }>)[0]!.text,
    );
    assert.ok(running(grandchild));

    const boundMs = stopBoundMs(config.daemon.limits.drain_timeout) + 5000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), boundMs);
    });
    dev.kill('SIGINT');
    const outcome = await Promise.race([done, late]);
    clearTimeout(timer);
    assert.notEqual(outcome, 'late', `gatekit dev exits within ${boundMs} ms`);
    assert.equal(running(grandchild), false, 'the stubborn server is gone');
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject);
      server.listen(idpPort, '127.0.0.1', () => server.close(() => resolve()));
    });
    await client.close().catch(() => {});
  });
});
