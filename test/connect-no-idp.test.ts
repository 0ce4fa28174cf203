import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { collect, spawnGatekit } from './helpers/cli.js';
import { freePort } from './helpers/daemon-harness.js';
import { basicConfig, workspace } from './helpers/workspace.js';

describe('gatekit connect with no login and an identity provider it cannot reach', () => {
  const spaces: Array<{ remove(): void }> = [];
  after(() => spaces.forEach((ws) => ws.remove()));

  it("answers the client's call with -32001, why a login could not start and what to do", async () => {
    // Nothing listens on this port: the discovery document cannot be read.
    const ws = workspace(basicConfig(`http://127.0.0.1:${await freePort()}`));
    spaces.push(ws);
    const child = spawnGatekit(['connect', 'notes'], { env: ws.env });
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
    };
    const answered = new Promise<Record<string, any>>((resolve) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve(JSON.parse(line!));
      });
    });
    const done = collect(child, { input: `${JSON.stringify(initialize)}\n`, timeoutMs: 60_000 });
    const answer = await answered;
    child.kill('SIGTERM');
    await done;
    assert.equal(answer['id'], 1);
    assert.equal(answer['error'].code, -32001, JSON.stringify(answer));
    assert.match(
      answer['error'].message,
      new RegExp(
        `^Gatekit login required for ${ws.config}, and a login could not start: cannot read the discovery document of http://127\\.0\\.0\\.1:\\d+: the identity provider is unreachable \\(ECONNREFUSED\\)\\. When the identity provider is reachable, try again \\(a new login starts\\), or run "gatekit broker login --config ${ws.config}" in a terminal\\.$`,
      ),
    );
  });
});
