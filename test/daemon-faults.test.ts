import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, watch } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { startDaemonProcess } from '../lib/dev/index.js';
import { startDaemon } from '../lib/daemon/index.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import { daemonConfig, endSession, raw, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { workspace } from './helpers/workspace.js';

/** Resolves once the audit log holds an `event` line: waiting on the file, not on a clock. */
function auditLine(file: string, event: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(file, () => check());
    const check = () => {
      if (readFileSync(file, 'utf8').includes(`"event":"${event}"`)) {
        watcher.close();
        resolve();
      }
    };
    check();
  });
}

describe('daemon: faults', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('a child that crashes mid-call: the call gets a JSON-RPC error, the session ends, the daemon stays up', async () => {
    const client = await sdkClient(h, 'notes', await h.token('notes'));
    const sessions = h.daemon.sessions.size;
    const err = await client.callTool({ name: 'crash', arguments: {} }).catch((e: Error) => e);
    assert.match(String(err), /session ended: the MCP server exited with code 3/);
    assert.equal(h.daemon.sessions.size, sessions - 1);
    assert.ok(h.audit().some((l) => l['event'] === 'server.exit' && l['code'] === 3));
    const again = await client.callTool({ name: 'list_notes', arguments: {} }).catch((e: Error) => e);
    assert.match(
      String(again),
      /404|unknown or ended session/,
      'the ended session answers 404 so the client starts over',
    );
    await client.close();
    assert.equal((await raw(h.unix('notes'), 'GET', {}, undefined, '/healthz')).status, 200);
  });

  it('a child that hangs: after first_response_timeout the pending call fails and the child is ended', async () => {
    const client = await sdkClient(h, 'notes', await h.token('notes'));
    const err = await client
      .callTool({ name: 'hang', arguments: {} }, undefined, { timeout: 600_000 })
      .catch((e: Error) => e);
    assert.match(String(err), /did not answer within 3s/);
    await client.close();
  });
});

describe('daemon: idle sessions and log rotation', () => {
  it('a session idle past idle_timeout ends its child; reload reopens a rotated audit log', async () => {
    const h = await startHarness(await daemonConfig('', 'idle_timeout = "1s"'));
    try {
      const client = await sdkClient(h, 'notes', await h.token('notes'));
      assert.equal(h.daemon.sessions.size, 1);
      // The clock is a process edge: the sweep is asked about a moment past idle_timeout instead of waiting for it.
      h.daemon.sessions.sweep(h.config.daemon.limits, Date.now() + 1500);
      assert.equal(h.daemon.sessions.size, 0);
      assert.ok(h.audit().some((l) => l['event'] === 'session.end' && l['reason'] === 'idle timeout'));
      await client.close();
      renameSync(join(h.ws.dir, 'audit.jsonl'), join(h.ws.dir, 'audit.jsonl.1'));
      await h.daemon.reload();
      assert.equal(h.audit()[0]!['event'], 'daemon.reload', 'a new file, opened on reload');
    } finally {
      await h.close();
    }
  });
});

describe('daemon: its sockets', () => {
  it("a live daemon's socket is an error; a stale one from a dead daemon is replaced", async () => {
    const ws = workspace(await daemonConfig());
    try {
      const config = loadConfig({ config: ws.config });
      await initialize(config, { force: false });
      const first = await startDaemon(config);
      await assert.rejects(startDaemon(config), /another daemon already serves notes/);
      await first.stop();
      // A daemon killed with SIGKILL leaves its socket file behind.
      const path = join(ws.dir, 'run', 'notes.sock');
      spawnSync(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      assert.ok(existsSync(path));
      const second = await startDaemon(config);
      assert.equal(
        (await raw(new Agent({ connect: { socketPath: path } }), 'GET', {}, undefined, '/healthz')).status,
        200,
      );
      await second.stop();
    } finally {
      ws.remove();
    }
  });
});

describe('daemon: signals (a real daemon process)', () => {
  const setup = async () => {
    const ws = workspace(await daemonConfig('', 'drain_timeout = "5s"'));
    const config = loadConfig({ config: ws.config });
    await initialize(config, { force: false });
    const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
    const token = async (user = 'alice@example.com', groups: string[] = []) =>
      (
        await mintAccessToken(key, {
          identity: { user, sub: `sub-${user}`, groups },
          issuer: 'urn:gatekit:broker:test',
          resource: 'urn:gatekit:server:notes',
          scope: 'tools:*',
          clientId: 'gatekit-cli',
          userClaim: 'email',
          ttl: 300,
        })
      ).token;
    const daemon = await startDaemonProcess(config, { ...process.env }, () => {});
    // Enough of a Harness for sdkClient: the config and a dispatcher for the notes socket.
    const harness = {
      config,
      unix: () => new Agent({ connect: { socketPath: join(ws.dir, 'run', 'notes.sock') } }),
    } as unknown as Harness;
    return { ws, daemon, token, harness };
  };

  it('SIGTERM during a call: the call completes, children end, daemon.stop is written, exit 0', async () => {
    const { ws, daemon, token, harness } = await setup();
    try {
      const client = await sdkClient(harness, 'notes', await token());
      let inFlight!: () => void;
      const started = new Promise<void>((resolve) => {
        inFlight = resolve;
      });
      const call = client.callTool({ name: 'slow', arguments: { steps: 20 } }, undefined, {
        onprogress: () => inFlight(),
      });
      await started;
      const exited = new Promise<number | null>((resolve) => daemon.child.once('exit', (code) => resolve(code)));
      daemon.child.kill('SIGTERM');
      const result = await call;
      assert.match(JSON.stringify(result), /done after 20 steps/);
      assert.equal(await exited, 0);
      const lines = readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.at(-2).event, 'daemon.stop');
      assert.deepEqual(
        [lines.at(-1).event, lines.at(-1).reason],
        ['audit.checkpoint', 'stop'],
        'the stop seals the audit chain',
      );
      assert.ok(lines.some((l) => l.event === 'session.end' && l.reason === 'the daemon is stopping'));
    } finally {
      await daemon.stop();
      ws.remove();
    }
  });

  it('SIGHUP that removes a user: their open session is refused on its next request', async () => {
    const { ws, daemon, token, harness } = await setup();
    try {
      const client = await sdkClient(harness, 'notes', await token());
      assert.ok(await client.callTool({ name: 'list_notes', arguments: {} }));
      ws.write(
        readFileSync(ws.config, 'utf8').replace(
          'allow_users = ["alice@example.com"]\nallow_groups = ["ops"]',
          'allow_users = []\nallow_groups = ["ops"]',
        ),
      );
      const reloaded = auditLine(join(ws.dir, 'audit.jsonl'), 'daemon.reload');
      daemon.child.kill('SIGHUP');
      await reloaded;
      const err = await client.callTool({ name: 'list_notes', arguments: {} }).catch((e: Error) => e);
      assert.match(String(err), /403|denied by policy/);
      await endSession(client).catch(() => {});
    } finally {
      await daemon.stop();
      ws.remove();
    }
  });
});
