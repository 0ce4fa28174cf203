import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { approveDevice, startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit, GATEKIT_BIN } from './helpers/cli.js';
import { EVERYTHING_SERVER, NOTES_SERVER } from './helpers/daemon-harness.js';
import { deviceLoginCli } from './helpers/login.js';
import { expireCachedTokens, workspace, type Workspace } from './helpers/workspace.js';

function config(issuer: string, ttl: string): string {
  return `[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
issuer = "urn:gatekit:broker:test"
token_ttl = "${ttl}"

[daemon]
audit_log = "audit.jsonl"

[servers.everything]
command = ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
allow_groups = ["eng"]

[servers.notes]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com"]
`;
}

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';

/** What a bridge wrote on stderr, with a bounded wait for a line in it. */
class Stderr {
  readonly #chunks: string[] = [];
  readonly #changed = new EventEmitter();

  push(chunk: string): void {
    this.#chunks.push(chunk);
    this.#changed.emit('data');
  }

  join(separator = ''): string {
    return this.#chunks.join(separator);
  }

  /** Resolves once `pattern` appears; rejects after `boundMs` naming `what` it waited for. */
  until(pattern: RegExp, what: string, boundMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pattern.test(this.join())) return;
        clearTimeout(timer);
        this.#changed.off('data', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#changed.off('data', check);
        reject(new Error(`${what}: not on the bridge's stderr after ${boundMs} ms`));
      }, boundMs);
      this.#changed.on('data', check);
      check();
    });
  }
}

async function connectClient(ws: Workspace, server: string, stderr: Stderr): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GATEKIT_BIN, 'connect', server],
    env: { ...process.env, ...ws.env } as Record<string, string>,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const client = new Client({ name: 'connect-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('gatekit connect', () => {
  let idp: DevIdp;
  let ws: Workspace;
  let daemon: Daemon;

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(config(idp.issuer, '62s'));
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    daemon = await startDaemon(loadConfig({ config: ws.config }));
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
  });
  after(async () => {
    await daemon.stop();
    await idp.close();
    ws.remove();
  });

  it('an SDK client over stdio reaches server-everything through the daemon; tokens rotate mid-session without a failed call', async () => {
    const stderr = new Stderr();
    const client = await connectClient(ws, 'everything', stderr);
    try {
      assert.equal(client.getServerVersion()?.name, 'mcp-servers/everything');
      // The bridge renews its in-memory token (62 s) once less than a minute is left: call until the audit
      // shows a second token, each call answered, within a bound (no fixed wait).
      const auditFile = join(ws.dir, 'audit.jsonl');
      const echoes = () =>
        readFileSync(auditFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
          .filter((l) => l.server === 'everything' && l.tool === 'echo');
      const deadline = Date.now() + 60_000;
      let calls = 0;
      for (; new Set(echoes().map((l) => l.jti)).size < 2; calls++) {
        assert.ok(Date.now() < deadline, `tokens rotate within 60 s (${calls} calls)`);
        assert.equal(
          text(await client.callTool({ name: 'echo', arguments: { message: `n${calls}` } })),
          `Echo: n${calls}`,
        );
      }
      const audit = echoes();
      assert.ok(audit.filter((l) => l.tool === 'echo').every((l) => l.outcome === 'ok'));
    } finally {
      await client.close();
    }
  });

  it('the daemon restarts: the bridge starts a new session by itself and says so', async () => {
    const stderr = new Stderr();
    const client = await connectClient(ws, 'notes', stderr);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'before' } })), 'before');
      await daemon.stop();
      daemon = await startDaemon(loadConfig({ config: ws.config }));
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'after' } })), 'after');
      assert.match(stderr.join(''), /starting a new one/);
    } finally {
      await client.close();
    }
  });

  it('the login ends mid-session: the next call carries a device code; after approval the same client works', async () => {
    const stderr = new Stderr();
    const client = await connectClient(ws, 'notes', stderr);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'one' } })), 'one');
      await idp.revokeUser('alice@example.com');
      expireCachedTokens(ws);
      // The bridge's in-memory token (62 s) still serves until less than a minute is left; the first call
      // after that renews, finds the login ended, and answers with a device code. Bounded, no fixed wait.
      const deadline = Date.now() + 60_000;
      let failed = await client.callTool({ name: 'echo', arguments: { message: 'two' } });
      while (!failed.isError) {
        assert.equal(text(failed), 'two');
        assert.ok(Date.now() < deadline, 'the login ends within 60 s');
        failed = await client.callTool({ name: 'echo', arguments: { message: 'two' } });
      }
      const m = /open (\S+) and enter the code (\S+), then try again/.exec(text(failed));
      assert.ok(m, text(failed));
      const again = await client.callTool({ name: 'echo', arguments: { message: 'still waiting' } });
      assert.equal(again.isError, true, 'a call while the login waits answers at once');
      assert.ok(text(again).includes(m[2]!), 'with the same code: one login at a time');
      const url = new URL(m[1]!);
      await approveDevice({ verification_uri: `${url.origin}${url.pathname}`, user_code: m[2]! }, 'alice@example.com');
      await stderr.until(/logged in again; calls work now/, 'the bridge saying the login completed');
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'three' } })), 'three');
    } finally {
      await client.close();
    }
  });

  it('gatekit exec: connect and broker token inside the command get tokens from the agent; exit code passes through', async () => {
    const script = join(ws.dir, 'client.mjs');
    writeFileSync(
      script,
      `
import { execFileSync } from 'node:child_process';
import { Client } from ${JSON.stringify(import.meta.resolve('@modelcontextprotocol/sdk/client/index.js'))};
import { StdioClientTransport } from ${JSON.stringify(import.meta.resolve('@modelcontextprotocol/sdk/client/stdio.js'))};
const client = new Client({ name: 'in-exec', version: '1' });
await client.connect(new StdioClientTransport({ command: process.execPath, args: [${JSON.stringify(GATEKIT_BIN)}, 'connect', 'notes'], env: process.env }));
const r = await client.callTool({ name: 'whoami', arguments: {} });
await client.close();
const token = execFileSync(process.execPath, [${JSON.stringify(GATEKIT_BIN)}, 'broker', 'token', '--resource', 'notes'], { encoding: 'utf8' });
console.log(JSON.stringify({ who: JSON.parse(r.content[0].text).user, agent: process.env.GATEKIT_AGENT, token: token.trim().length > 0 }));
process.exit(5);
`,
    );
    const r = await gatekit(['exec', '--', process.execPath, script], { env: ws.env, timeoutMs: 60_000 });
    assert.equal(r.code, 5, r.stderr);
    const seen = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(seen.who, 'alice@example.com');
    assert.match(seen.agent, /gatekit-agent-/);
    assert.equal(seen.token, true);
  });
});
