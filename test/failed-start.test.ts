import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { startDaemonProcess } from '../lib/dev/index.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import { gatekit } from './helpers/cli.js';
import { BROKER_ISSUER, daemonConfig, freePort, INITIALIZE, JSON_HEADERS, raw } from './helpers/daemon-harness.js';
import { BROKEN_SERVER, REPO } from './helpers/process-tree.js';
import { workspace } from './helpers/workspace.js';

const ERROR_LINE = 'Error: cannot open database /nope';

const brokenServers = `
[servers.broken]
command = ["${process.execPath}", "${BROKEN_SERVER}"]
allow_users = ["alice@example.com"]

[servers.noisy]
command = ["${process.execPath}", "${BROKEN_SERVER}"]
env = { BROKEN_NOISE = "1" }
allow_users = ["alice@example.com"]
`;

describe('a server that fails at start explains itself', () => {
  it("the client's error body, the daemon's stderr and the server.exit audit line carry the exit code and the server's error line", async (t) => {
    const ws = workspace(await daemonConfig(brokenServers));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    await initialize(config, { force: false });
    const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
    const stderr: string[] = [];
    let heard: (() => void) | undefined;
    const daemon = await startDaemonProcess(config, { ...process.env }, (line) => {
      stderr.push(line);
      heard?.();
    });
    t.after(() => daemon.stop());
    const said = (pattern: RegExp) =>
      new Promise<string>((resolve) => {
        heard = () => {
          const line = stderr.find((l) => pattern.test(l));
          if (line) resolve(line);
        };
        heard();
      });
    const post = async (server: string) => {
      const agent = new Agent({ connect: { socketPath: join(ws.dir, 'run', `${server}.sock`) } });
      t.after(() => agent.close());
      const { token } = await mintAccessToken(key, {
        identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
        issuer: BROKER_ISSUER,
        resource: config.servers.get(server)!.resource,
        scope: 'tools:*',
        clientId: 'gatekit-cli',
        userClaim: 'email',
        ttl: 300,
      });
      return raw(agent, 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    };

    const answer = await post('broken');
    assert.match(answer.body, /the MCP server exited with code 1: Error: cannot open database \/nope/);
    assert.match(answer.body, /stderr ends: .*Node\.js v/, 'and the last lines of its stderr');
    const line = await said(/broken \(session [^)]+\): the MCP server exited with code 1: Error: cannot open/);
    assert.ok(line.includes(ERROR_LINE));
    const audit = () =>
      readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const exit = audit().find((l) => l.event === 'server.exit' && l.server === 'broken');
    assert.equal(exit.code, 1);
    assert.match(exit.error, /^Error: cannot open database \/nope \(stderr ends: /);

    // Hostile stderr: escape sequences, control characters, 15 KB of lines. The explanation stays short and clean.
    const noisy = await post('noisy');
    assert.match(noisy.body, /exited with code 1: Error: cannot open database \/nope/);
    await said(/noisy \(session/);
    const noisyExit = audit().find((l) => l.event === 'server.exit' && l.server === 'noisy');
    for (const text of [noisyExit.error as string, stderr.find((l) => l.includes('noisy (session'))!]) {
      assert.ok(text.length <= 2300, `bounded: ${text.length}`);
      // No C0/C1 control character survives, ESC included.
      assert.doesNotMatch(text, /[\x00-\x1f\x7f-\x9f]/);
      assert.ok(text.includes(ERROR_LINE));
    }
  });

  it('gatekit doctor starts each server once and reports ✘ with its error line; a good server is ✔', async (t) => {
    const ws = workspace(await daemonConfig(brokenServers));
    t.after(() => ws.remove());
    await initialize(loadConfig({ config: ws.config }), { force: false });
    const r = await gatekit(['doctor', '--config', ws.config], { timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✘ server: broken\s+exited with code 1: Error: cannot open database \/nope/);
    assert.match(r.stdout, /✔ server: notes\s+started; initialize answered by gatekit-notes/);
  });

  it('gatekit dev --demo names the failing server and its error line instead of "unexpected error"', async (t) => {
    const toml = readFileSync(join(REPO, 'gatekit.toml'), 'utf8')
      .replace(
        '"node", "node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"',
        `"${process.execPath}", "${BROKEN_SERVER}"`,
      )
      .replaceAll('"dist/fixtures/', `"${REPO}dist/fixtures/`)
      .replace('127.0.0.1:7400', `127.0.0.1:${await freePort()}`)
      .replace('127.0.0.1:7401', `127.0.0.1:${await freePort()}`);
    const ws = workspace(toml);
    t.after(() => ws.remove());
    const r = await gatekit(['dev', '--demo'], { env: ws.env, timeoutMs: 90_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the call to everything through gatekit connect failed: .*Error: cannot open database \/nope/,
    );
    assert.doesNotMatch(r.stderr, /unexpected error/i);
  });
});
