import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { daemonConfig, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { gates, type Gates } from './helpers/gated.js';
import { workspace } from './helpers/workspace.js';

// Time has to pass for a timeout to matter, so each test measures it by an event instead of a
// clock: a call to the notes fixture's `hang` tool, made after the gated server went quiet, fails
// only once the daemon's watchdog has run past first_response_timeout.
describe('daemon: a slow-starting server is not a hung one', () => {
  let h: Harness;
  let g: Gates;
  before(async () => {
    g = gates();
    const toml = (await daemonConfig(g.toml('gated', { holdStart: true }))).replace(
      'first_response_timeout = "3s"',
      'first_response_timeout = "1s"',
    );
    h = await startHarness(toml);
  });
  after(async () => {
    await h.close();
    g.remove();
  });

  const watchdogHasFired = async () => {
    const control = await sdkClient(h, 'notes', await h.token('notes'));
    const err = await control
      .callTool({ name: 'hang', arguments: {} }, undefined, { timeout: 600_000 })
      .catch((e: Error) => e);
    assert.match(String(err), /did not answer within 1s/);
    await control.close();
  };
  const gated = () => h.daemon.sessions.all().filter((s) => s.server.name === 'gated' && !s.ended);

  it('start-up past first_response_timeout is bounded by start_timeout; stderr is a sign of life', async () => {
    const connecting = sdkClient(h, 'gated', await h.token('gated'));
    await g.seen((f) => f.startsWith('starting-'));
    await watchdogHasFired();
    assert.equal(gated().length, 1, 'the starting server is still there');
    g.open('open-start');
    const client = await connecting;

    const call = client.callTool({ name: 'block', arguments: { gate: 'chatty' } }, undefined, { timeout: 600_000 });
    await g.seen((f) => f === 'blocked-chatty');
    await watchdogHasFired();
    assert.equal(gated().length, 1, 'a server that writes to stderr while it works is alive');
    g.open('chatty');
    assert.deepEqual(await call, { content: [{ type: 'text', text: 'released chatty' }] });
    await client.close();
  });

  it('a starting server silent past start_timeout is ended, and the initialize gets an error', async () => {
    for (const f of readdirSync(g.dir)) if (f === 'open-start' || f.startsWith('starting-')) rmSync(join(g.dir, f));
    const connecting = sdkClient(h, 'gated', await h.token('gated')).catch((e: Error) => e);
    await g.seen((f) => f.startsWith('starting-'));
    h.daemon.sessions.sweep(h.config.daemon.limits, Date.now() + h.config.daemon.limits.start_timeout * 1000 + 1000);
    assert.match(String(await connecting), /did not start within 120s/);
    assert.ok(h.audit().some((l) => l['event'] === 'session.end' && /did not start within/.test(String(l['reason']))));
  });
});

describe('config: [daemon.limits] start_timeout', () => {
  it('defaults to 120s, long enough for a first `npx -y`, and takes a duration', async () => {
    const ws = workspace(await daemonConfig());
    try {
      assert.equal(loadConfig({ config: ws.config }).daemon.limits.start_timeout, 120);
      ws.write(await daemonConfig('', 'start_timeout = "5m"'));
      assert.equal(loadConfig({ config: ws.config }).daemon.limits.start_timeout, 300);
      ws.write(await daemonConfig('', 'start_timeout = "soon"'));
      assert.throws(
        () => loadConfig({ config: ws.config }),
        (err: { code?: string }) => err.code === 'CONFIG_INVALID',
      );
    } finally {
      ws.remove();
    }
  });
});
