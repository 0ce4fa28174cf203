import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, watch } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdio } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit, GATEKIT_BIN } from './helpers/cli.js';
import { EVERYTHING_SERVER } from './helpers/daemon-harness.js';
import { deviceLoginCli } from './helpers/login.js';
import { MODERN } from './helpers/modern-client.js';
import { workspace, type Workspace } from './helpers/workspace.js';

function config(issuer: string): string {
  return `[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
issuer = "urn:gatekit:broker:test"

[daemon]
audit_log = "audit.jsonl"

[servers.everything]
command = ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
allow_groups = ["eng"]
tools = { allow = ["echo", "get-sum", "trigger-long-running-operation"] }

[servers.conformance]
command = ["${process.execPath}", "${CONFORMANCE_SERVER}", "stdio"]
allow_groups = ["eng"]
tools = { allow = ["test_custom_header", "test_simple_text"] }

[servers.closed]
command = ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
allow_users = ["nobody@example.com"]
`;
}
const CONFORMANCE_SERVER = fileURLToPath(new URL('../fixtures/conformance-server.js', import.meta.url));

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';
const connectArgs = (ws: Workspace, server = 'everything') => ({
  command: process.execPath,
  args: [GATEKIT_BIN, 'connect', server],
  env: { ...process.env, ...ws.env } as Record<string, string>,
  stderr: 'pipe' as const,
});

/** The MCP SDK v2 client pinned to 2026-07-28, launching `gatekit connect` as its stdio server. */
async function modernOverConnect(ws: Workspace, stderr: string[], server?: string): Promise<ModernClient> {
  const transport = new ModernStdio(connectArgs(ws, server));
  transport.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const client = new ModernClient(
    { name: 'connect-era-v2', version: '2.0.0' },
    { versionNegotiation: { mode: { pin: MODERN } } },
  );
  await client.connect(transport);
  return client;
}

async function sessionOverConnect(ws: Workspace, stderr: string[]): Promise<Client> {
  const transport = new StdioClientTransport(connectArgs(ws));
  transport.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const client = new Client({ name: 'connect-era-v1', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const auditLines = (ws: Workspace): Array<Record<string, unknown>> =>
  readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Resolves with the first audit line that matches, waiting on the file's changes rather than on a clock. */
async function auditLine(ws: Workspace, match: (l: Record<string, unknown>) => boolean) {
  const watcher = watch(join(ws.dir, 'audit.jsonl'));
  try {
    for (;;) {
      const found = auditLines(ws).find(match);
      if (found) return found;
      await new Promise((resolve) => watcher.once('change', resolve));
    }
  } finally {
    watcher.close();
  }
}

describe('gatekit connect bridges both eras of MCP', () => {
  let idp: DevIdp;
  let ws: Workspace;
  let daemon: Daemon;

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(config(idp.issuer));
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    daemon = await startDaemon(loadConfig({ config: ws.config }));
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
  });
  after(async () => {
    await daemon.stop();
    await idp.close();
    ws.remove();
  });

  it('a 2026-07-28 client on stdio lists, calls and is denied through connect, beside a v1 client', async (t) => {
    const modernErr: string[] = [];
    const sessionErr: string[] = [];
    const modern = await modernOverConnect(ws, modernErr);
    t.after(() => modern.close());
    const session = await sessionOverConnect(ws, sessionErr);
    t.after(() => session.close());

    const tools = (await modern.listTools()).tools.map((tool) => tool.name).sort();
    assert.deepEqual(tools, ['echo', 'get-sum', 'trigger-long-running-operation'], modernErr.join(''));
    assert.equal(text(await modern.callTool({ name: 'echo', arguments: { message: 'v2' } })), 'Echo: v2');
    await assert.rejects(
      modern.callTool({ name: 'get-env', arguments: {} }),
      (err: { code?: number }) => err.code === -32003,
    );
    assert.equal(text(await session.callTool({ name: 'echo', arguments: { message: 'v1' } })), 'Echo: v1');
    await assert.rejects(
      session.callTool({ name: 'get-env', arguments: {} }),
      (err: { code?: number }) => err.code === -32003,
    );

    const echoes = auditLines(ws).filter((l) => l['tool'] === 'echo' && l['outcome'] === 'ok');
    assert.deepEqual(echoes.map((l) => l['era']).sort(), ['session', 'stateless']);
    const denied = auditLines(ws).filter((l) => l['tool'] === 'get-env');
    assert.deepEqual(denied.map((l) => [l['era'], l['outcome']]).sort(), [
      ['session', 'denied'],
      ['stateless', 'denied'],
    ]);
  });

  it('a 2026-07-28 call streams progress back through connect; aborting it cancels it at the child', async (t) => {
    const stderr: string[] = [];
    const modern = await modernOverConnect(ws, stderr);
    t.after(() => modern.close());

    const seen: number[] = [];
    const done = await modern.callTool(
      // A second between steps: the first step's progress is not the last thing before the result, even on a busy box.
      { name: 'trigger-long-running-operation', arguments: { duration: 3, steps: 3 } },
      { onprogress: (p) => seen.push(p.progress) },
    );
    assert.match(text(done), /completed/);
    // The v2 client may drop a progress notification that arrives just before its result (the bridge relays both).
    assert.equal(seen[0], 1, 'progress reached the client while the call ran');

    const controller = new AbortController();
    const progressed = new Promise<void>((resolve) => {
      void modern
        .callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 600, steps: 600 } },
          { onprogress: () => resolve(), signal: controller.signal },
        )
        .catch(() => undefined);
    });
    await progressed;
    controller.abort();
    const cancelled = await auditLine(
      ws,
      (l) => l['tool'] === 'trigger-long-running-operation' && l['error'] === 'client disconnected',
    );
    assert.equal(cancelled['era'], 'stateless');
  });

  it("a 2026-07-28 request the daemon refuses gets the daemon's own JSON-RPC error through connect", async (t) => {
    const args = connectArgs(ws);
    const bridge = spawn(args.command, args.args, { env: args.env, stdio: ['pipe', 'pipe', 'ignore'] });
    t.after(() => bridge.kill());
    const lines = createInterface({ input: bridge.stdout });
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
    const hostile = { jsonrpc: '2.0', id: 'h1', method: 'tools/call', params: { name: 'get-env', _meta: meta } };
    bridge.stdin.write(`${JSON.stringify(hostile)}\n`);
    const [line] = (await once(lines, 'line')) as [string];
    const answer = JSON.parse(line) as { id: string; error: { code: number } };
    assert.equal(answer.id, 'h1');
    // The daemon's own code (its header check says -32600, its body check -32022), not the bridge's -32000.
    assert.ok([-32600, -32022].includes(answer.error.code), line);
    bridge.stdin.end();
    await once(bridge, 'exit');
  });

  it('a 2026-07-28 tools/call through connect carries the Mcp-Param-* headers its arguments imply (SEP-2243)', async (t) => {
    // The daemon refuses a call of test_custom_header whose Mcp-Param-Region header is missing or wrong.
    const stderr: string[] = [];
    const modern = await modernOverConnect(ws, stderr, 'conformance');
    t.after(() => modern.close());
    for (const region of ['eu-west', 'Zürich', ' padded ']) {
      const result = await modern.callTool({ name: 'test_custom_header', arguments: { region } });
      assert.equal(text(result), `region ${region}`, stderr.join(''));
    }
    // A client that calls without ever listing the tools: connect lists them itself first.
    const args = connectArgs(ws, 'conformance');
    const bridge = spawn(args.command, args.args, { env: args.env, stdio: ['pipe', 'pipe', 'ignore'] });
    t.after(() => bridge.kill());
    const lines = createInterface({ input: bridge.stdout });
    const meta = {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const params = { name: 'test_custom_header', arguments: { region: 'ap-south' }, _meta: meta };
    bridge.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'p1', method: 'tools/call', params })}\n`);
    const [line] = (await once(lines, 'line')) as [string];
    assert.equal(text((JSON.parse(line) as { result: unknown }).result), 'region ap-south', line);
    bridge.stdin.end();
    await once(bridge, 'exit');
    assert.ok(!auditLines(ws).some((l) => l['rpc_code'] === -32020), 'no call was refused for its headers');
  });

  it("a 2026-07-28 client the policy refuses sees the refusal's words through connect, not 'did not offer'", async () => {
    const stderr: string[] = [];
    const refused = await modernOverConnect(ws, stderr, 'closed').then(
      () => undefined,
      (err: Error) => err,
    );
    assert.ok(refused, 'the pinned client did not connect');
    assert.match(refused.message, /not admitted by servers\.closed\.allow_users/, refused.message);
    assert.doesNotMatch(refused.message, /did not offer/);
  });
});
