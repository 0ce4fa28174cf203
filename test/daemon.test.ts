import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  endSession,
  INITIALIZE,
  JSON_HEADERS,
  raw,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

describe('daemon: MCP round trips through the proxy', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('server-everything over the Unix socket: tools, resources, prompts, sampling, progress, logging, ping', async () => {
    const client = await sdkClient(h, 'everything', await h.token('everything'));
    try {
      assert.equal(client.getServerVersion()?.name, 'mcp-servers/everything');
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(tools.includes('echo') && tools.includes('trigger-sampling-request'));
      assert.deepEqual(await client.callTool({ name: 'echo', arguments: { message: 'hi there' } }), {
        content: [{ type: 'text', text: 'Echo: hi there' }],
      });
      const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
      assert.match(JSON.stringify(sum), /42/);
      const resources = await client.listResources();
      assert.ok(resources.resources.length > 0);
      const read = await client.readResource({ uri: resources.resources[0]!.uri });
      assert.equal(read.contents[0]!.uri, resources.resources[0]!.uri);
      const templates = await client.listResourceTemplates();
      assert.ok(templates.resourceTemplates.length > 0);
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      assert.ok(prompts.includes('simple-prompt'));
      assert.ok((await client.getPrompt({ name: 'simple-prompt' })).messages.length > 0);
      const sampled = await client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'meaning of life?', maxTokens: 10 },
      });
      assert.match(
        JSON.stringify(sampled),
        /forty-two/,
        "the server's sampling request reached our client and the answer came back",
      );
      const progress: number[] = [];
      await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
        undefined,
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert.deepEqual(progress, [1, 2, 3]);
      await client.setLoggingLevel('debug');
      assert.deepEqual(await client.ping(), {});
    } finally {
      await endSession(client);
    }
  });

  it('the notes fixture over loopback mutual TLS: identity in the environment, nothing else leaks to the child', async () => {
    const token = await h.token('tls');
    const client = await sdkClient(h, 'tls', token);
    try {
      const who = JSON.parse(
        ((await client.callTool({ name: 'whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text,
      );
      assert.deepEqual({ user: who.user, sub: who.sub }, { user: 'alice@example.com', sub: 'sub-alice@example.com' });
      const env = (
        (await client.callTool({ name: 'env', arguments: {} })).content as Array<{ text: string }>
      )[0]!.text.split('\n');
      assert.ok(env.includes('GATEKIT_USER') && env.includes('PATH'));
      for (const name of env)
        assert.match(
          name,
          /^(GATEKIT_(USER|SUB|GROUPS|GROUPS_JSON|SERVER)|HOME|LOGNAME|PATH|SHELL|TERM|USER|LANG|TMPDIR)$/,
          `unexpected variable ${name}`,
        );
      const asked = await client.callTool({ name: 'ask', arguments: { question: 'meaning?' } });
      assert.match(JSON.stringify(asked), /the client said: forty-two/);
    } finally {
      await endSession(client);
    }
  });

  it("tools/list is filtered to the token's scope and the current allow list", async () => {
    const client = await sdkClient(h, 'notes', await h.token('notes', { scope: 'tools:read_* tools:list_*' }));
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['list_notes', 'read_note']);
      const denied = await client.callTool({ name: 'echo', arguments: { message: 'x' } }).catch((e: Error) => e);
      assert.match(String(denied), /-32003.*not allowed/);
    } finally {
      await endSession(client);
    }
  });

  it('grants add tools for their group only', async () => {
    const ops = await sdkClient(h, 'notes', await h.token('notes', { user: 'olga@example.com', groups: ['ops'] }));
    const alice = await sdkClient(h, 'notes', await h.token('notes'));
    try {
      assert.ok((await ops.listTools()).tools.some((t) => t.name === 'write_note'));
      assert.ok(!(await alice.listTools()).tools.some((t) => t.name === 'write_note'));
      assert.match(
        String(
          await alice.callTool({ name: 'write_note', arguments: { name: 'x', text: 'y' } }).catch((e: Error) => e),
        ),
        /not allowed/,
      );
    } finally {
      await endSession(ops);
      await endSession(alice);
    }
  });

  it('each session gets its own child; DELETE ends it', async () => {
    const before = h.daemon.sessions.size;
    const a = await sdkClient(h, 'notes', await h.token('notes'));
    const b = await sdkClient(h, 'notes', await h.token('notes'));
    const pids = h.daemon.sessions.all().map((s) => s.child.process.pid);
    assert.equal(h.daemon.sessions.size, before + 2);
    assert.equal(new Set(pids).size, pids.length);
    await endSession(a);
    await endSession(b);
    assert.equal(h.daemon.sessions.size, before, 'DELETE ended both children');
  });

  it('JSON-RPC batches for protocol 2025-03-26 (answered as one array), refused for 2025-06-18', async () => {
    const token = await h.token('notes');
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const init = await raw(h.unix('notes'), 'POST', auth, INITIALIZE.replace('2025-06-18', '2025-03-26'));
    const session = String(init.headers['mcp-session-id']);
    const headers = {
      ...auth,
      'mcp-session-id': session,
      'mcp-protocol-version': '2025-03-26',
      accept: 'application/json',
    };
    await raw(
      h.unix('notes'),
      'POST',
      headers,
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    );
    const batch = await raw(
      h.unix('notes'),
      'POST',
      headers,
      JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'echo', arguments: { message: 'one' } } },
        {
          jsonrpc: '2.0',
          id: 'b',
          method: 'tools/call',
          params: { name: 'write_note', arguments: { name: 'x', text: 'y' } },
        },
      ]),
    );
    assert.equal(batch.status, 200, batch.body);
    const answers = JSON.parse(batch.body) as Array<{ id: string; result?: unknown; error?: { code: number } }>;
    assert.deepEqual(answers.map((a) => a.id).sort(), ['a', 'b']);
    assert.equal(answers.find((a) => a.id === 'b')!.error!.code, -32003, "write_note is not alice's");
    const refused = await raw(
      h.unix('notes'),
      'POST',
      { ...headers, 'mcp-protocol-version': '2025-06-18' },
      JSON.stringify([{ jsonrpc: '2.0', id: 'c', method: 'ping' }]),
    );
    assert.equal(refused.status, 400);
    await raw(h.unix('notes'), 'DELETE', { authorization: `Bearer ${token}`, 'mcp-session-id': session });
  });

  it('sockets are 0600; the audit log names the user and never carries a token', async () => {
    const listen = h.config.servers.get('notes')!.listen;
    assert.equal(statSync(listen.kind === 'unix' ? listen.path : '').mode & 0o777, 0o600);
    const token = await h.token('notes');
    const client = await sdkClient(h, 'notes', token);
    await client.callTool({ name: 'read_note', arguments: { name: 'welcome' } });
    await endSession(client);
    const lines = h.audit();
    const call = lines.find((l) => l['tool'] === 'read_note')!;
    assert.equal(call['user'], 'alice@example.com');
    assert.equal(call['outcome'], 'ok');
    assert.ok(!JSON.stringify(lines).includes(token.split('.')[2]!), 'no token in the audit log');
    assert.ok(!JSON.stringify(lines).includes('welcome'), 'no tool arguments in the audit log');
  });
});
