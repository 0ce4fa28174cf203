import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, watch } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { startDaemonProcess } from '../lib/dev/index.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import { gatekit } from './helpers/cli.js';
import { daemonConfig, endSession, sdkClient, type Harness } from './helpers/daemon-harness.js';
import { workspace } from './helpers/workspace.js';

/** Resolves once `file` (which may not exist yet) holds a line with this event. */
function lineIn(file: string, event: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (existsSync(file) && readFileSync(file, 'utf8').includes(`"event":"${event}"`)) {
        watcher.close();
        resolve();
      }
    };
    const watcher = watch(join(file, '..'), check);
    check();
  });
}

describe('audit: rotation in a real daemon process', () => {
  it('rename + SIGHUP seals the old file and chains the new one; verify of both exits 0', async (t) => {
    const ws = workspace(await daemonConfig());
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    await initialize(config, { force: false });
    const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
    const token = (
      await mintAccessToken(key, {
        identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
        issuer: 'urn:gatekit:broker:test',
        resource: 'urn:gatekit:server:notes',
        scope: 'tools:*',
        clientId: 'gatekit-cli',
        userClaim: 'email',
        ttl: 300,
      })
    ).token;
    const daemon = await startDaemonProcess(config, { ...process.env }, () => {});
    t.after(() => daemon.stop());
    const socket = join(ws.dir, 'run', 'notes.sock');
    const harness = { config, unix: () => new Agent({ connect: { socketPath: socket } }) } as unknown as Harness;
    const client = await sdkClient(harness, 'notes', token);
    await client.callTool({ name: 'echo', arguments: { message: 'before' } });

    const current = join(ws.dir, 'audit.jsonl');
    const old = join(ws.dir, 'audit.jsonl.1');
    renameSync(current, old);
    const reloaded = lineIn(current, 'daemon.reload');
    daemon.child.kill('SIGHUP');
    await reloaded;
    await client.callTool({ name: 'echo', arguments: { message: 'after' } });
    await endSession(client);
    await daemon.stop();

    const last = JSON.parse(readFileSync(old, 'utf8').trimEnd().split('\n').at(-1)!);
    assert.deepEqual([last.event, last.reason], ['audit.checkpoint', 'rotate']);
    const verified = await gatekit(['audit', 'verify', '--json', old, current], { env: ws.env });
    assert.equal(verified.code, 0, verified.stdout);
    assert.deepEqual(JSON.parse(verified.stdout).problems, []);
    const wrongOrder = await gatekit(['audit', 'verify', current, old], { env: ws.env });
    assert.equal(wrongOrder.code, 1);
    const junkKey = join(ws.dir, 'gatekit.toml');
    assert.equal(
      (await gatekit(['audit', 'verify', '--key', junkKey, current], { env: ws.env })).code,
      2,
      'a --key that is no JWKS',
    );
    assert.equal((await gatekit(['keys', 'rotate', '--audit'], { env: ws.env })).code, 2, '--audit only with jwks');
  });
});
