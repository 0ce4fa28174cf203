import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { endSession, JSON_HEADERS, raw, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

type Text = { content: Array<{ text: string }> };
const textOf = (result: unknown) => (result as Text).content[0]!.text;

describe('daemon: MCP 2026-07-28 stateless requests beside session-era clients', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('v2 client (2026-07-28) and v1 client side by side on the notes fixture: tools/list, tools/call', async () => {
    const token = await h.token('notes');
    const modern = await modernClient(h, 'notes', token);
    const legacy = await sdkClient(h, 'notes', token);
    try {
      assert.equal(modern.getProtocolEra(), 'modern');
      const expected = ['echo', 'list_notes', 'read_note', 'whoami'];
      const names = (tools: Array<{ name: string }>) =>
        tools
          .map((t) => t.name)
          .filter((n) => expected.includes(n) || n === 'write_note')
          .sort();
      assert.deepEqual(
        names((await modern.listTools()).tools),
        expected,
        'filtered by policy: no write_note without ops',
      );
      assert.deepEqual(names((await legacy.listTools()).tools), expected);
      assert.equal(textOf(await modern.callTool({ name: 'echo', arguments: { message: 'modern' } })), 'modern');
      assert.equal(textOf(await legacy.callTool({ name: 'echo', arguments: { message: 'legacy' } })), 'legacy');
      const lines = h.audit().filter((l) => l['event'] === 'request' && l['tool'] === 'echo');
      assert.deepEqual(
        lines.map((l) => l['era']),
        ['stateless', 'session'],
      );
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });

  it('server-everything through both clients: resources and prompts', async () => {
    const token = await h.token('everything');
    const modern = await modernClient(h, 'everything', token);
    const legacy = await sdkClient(h, 'everything', token);
    try {
      for (const client of [modern, legacy] as Array<typeof legacy>) {
        const resources = await client.listResources();
        assert.ok(resources.resources.length > 0);
        const read = await client.readResource({ uri: resources.resources[0]!.uri });
        assert.equal(read.contents[0]!.uri, resources.resources[0]!.uri);
        assert.ok((await client.listResourceTemplates()).resourceTemplates.length > 0);
        assert.ok((await client.listPrompts()).prompts.some((p) => p.name === 'simple-prompt'));
        assert.ok((await client.getPrompt({ name: 'simple-prompt' })).messages.length > 0);
      }
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });

  it('a stateless answer has no Mcp-Session-Id; lists say resultType, ttlMs 0, cacheScope private', async () => {
    const token = await h.token('notes');
    const list = await raw(h.unix('notes'), 'POST', modernHeaders(token, 'tools/list'), modernBody(7, 'tools/list'));
    assert.equal(list.status, 200);
    assert.equal(list.headers['mcp-session-id'], undefined);
    const body = JSON.parse(list.body);
    assert.equal(body.id, 7);
    assert.deepEqual([body.result.resultType, body.result.ttlMs, body.result.cacheScope], ['complete', 0, 'private']);
    const found = await raw(
      h.unix('notes'),
      'POST',
      modernHeaders(token, 'server/discover'),
      modernBody(8, 'server/discover'),
    );
    const discovered = JSON.parse(found.body).result;
    assert.deepEqual(discovered.supportedVersions, ['2026-07-28']);
    assert.equal(discovered.cacheScope, 'private');
    assert.ok(discovered.capabilities.tools);
    assert.equal(discovered._meta['io.modelcontextprotocol/serverInfo'].name, 'gatekit-notes');
  });

  it("a pinned v2 client the policy refuses gets the refusal's words (the 403 challenge's error_description)", async () => {
    const token = await h.token('notes', { user: 'mallory@example.com' });
    const refused = await modernClient(h, 'notes', token).then(
      () => undefined,
      (err: Error & { errorDescription?: string }) => err,
    );
    assert.ok(refused, 'the client did not connect');
    assert.match(String(refused.errorDescription), /not admitted by servers\.notes\.allow_users/);
    assert.doesNotMatch(refused.message, /did not offer/);
  });

  it('server/discover offers no tools capability to a person who may call none', async () => {
    const token = await h.token('notes', { scope: 'tools:nothing_here' });
    const found = await raw(
      h.unix('notes'),
      'POST',
      modernHeaders(token, 'server/discover'),
      modernBody(1, 'server/discover'),
    );
    assert.equal(found.status, 200);
    assert.equal(JSON.parse(found.body).result.capabilities.tools, undefined);
  });

  it('two people never share a pooled child; it carries its person exactly as a session child', async () => {
    const bobToken = await h.token('notes', { user: 'bob@example.com', groups: ['ops', 'a,b'] });
    const alice = await modernClient(h, 'notes', await h.token('notes'));
    const bob = await modernClient(h, 'notes', bobToken);
    const bobLegacy = await sdkClient(h, 'notes', bobToken);
    try {
      const who = async (client: { callTool: typeof alice.callTool }) => {
        const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
        delete seen.meta;
        return seen;
      };
      const [a1, b1, a2, b2] = [await who(alice), await who(bob), await who(alice), await who(bob)];
      assert.deepEqual(
        [a1.user, a1.sub, b1.user, b1.sub],
        ['alice@example.com', 'sub-alice@example.com', 'bob@example.com', 'sub-bob@example.com'],
      );
      assert.deepEqual([a2, b2], [a1, b1], 'each person is served again by their own child');
      assert.deepEqual(await who(bobLegacy as never), b1, 'the same GATEKIT_* environment as a session child');
      const pooled = h.daemon.sessions.all().filter((s) => s.era === 'stateless' && s.server.name === 'notes');
      const subs = pooled.map((s) => s.owner.sub).sort();
      assert.deepEqual(subs, [...new Set(subs)], 'one pooled child per person and server');
      const pids = new Set(pooled.map((s) => s.child.process.pid));
      assert.equal(pids.size, pooled.length);
      assert.ok(subs.includes('sub-alice@example.com') && subs.includes('sub-bob@example.com'));
    } finally {
      await Promise.all([alice.close(), bob.close(), endSession(bobLegacy)]);
    }
  });

  it('headers that disagree with the body: 400, -32020, audited, never forwarded', async () => {
    const token = await h.token('notes');
    const post = (headers: Record<string, string>, body: string) => raw(h.unix('notes'), 'POST', headers, body);
    const writeNote = (id: number) =>
      modernBody(id, 'tools/call', { name: 'write_note', arguments: { name: 'x', text: 'y' } });
    const echo = (id: number) => modernBody(id, 'tools/call', { name: 'echo', arguments: { message: 'm' } });
    const legacy = await sdkClient(h, 'notes', token);
    const sessionId = (legacy.transport as unknown as { sessionId: string }).sessionId;
    const hostile: Array<[string, Record<string, string>, string]> = [
      ['Mcp-Method names another method', modernHeaders(token, 'tools/list'), echo(901)],
      [
        'Mcp-Name names an allowed tool, the body a forbidden one',
        modernHeaders(token, 'tools/call', 'echo'),
        writeNote(902),
      ],
      [
        'Mcp-Name in base64 names another tool',
        modernHeaders(token, 'tools/call', `=?base64?${Buffer.from('echo').toString('base64')}?=`),
        writeNote(903),
      ],
      [
        'MCP-Protocol-Version disagrees with _meta',
        { ...modernHeaders(token, 'tools/call', 'echo'), 'mcp-protocol-version': '2025-06-18' },
        echo(904),
      ],
      [
        'no Mcp-Method on a 2026-07-28 request',
        { ...modernHeaders(token, 'tools/call', 'echo'), 'mcp-method': '' },
        echo(905),
      ],
      ['Mcp-Name where the method has none', modernHeaders(token, 'tools/list', 'echo'), modernBody(906, 'tools/list')],
      [
        'a 2026-07-28 body with an Mcp-Session-Id',
        { ...modernHeaders(token, 'tools/call', 'echo'), 'mcp-session-id': sessionId },
        echo(907),
      ],
    ];
    delete hostile[4]![1]['mcp-method'];
    for (const [why, headers, body] of hostile) {
      const res = await post(headers, body);
      assert.equal(res.status, 400, why);
      assert.equal(JSON.parse(res.body).error.code, -32020, why);
    }
    try {
      const session = { ...JSON_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': sessionId };
      const call = JSON.stringify({
        jsonrpc: '2.0',
        id: 908,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'm' } },
      });
      const res = await post({ ...session, 'mcp-method': 'tools/list' }, call);
      assert.equal(res.status, 400, 'session era: a present Mcp-Method must match too');
      assert.equal(JSON.parse(res.body).error.code, -32020);
      const matching = await post(
        { ...session, 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
        call.replace('908', '911'),
      );
      assert.equal(matching.status, 200, 'headers that agree are fine in the session era');
    } finally {
      await endSession(legacy);
    }
    const ok = await post(
      modernHeaders(token, 'tools/call', `=?base64?${Buffer.from('echo').toString('base64')}?=`),
      echo(909),
    );
    assert.equal(ok.status, 200, 'a base64-encoded Mcp-Name that matches is accepted');
    const audit = h.audit();
    const refused = audit.filter((l) => l['rpc_code'] === -32020);
    assert.equal(refused.length, hostile.length + 1);
    assert.ok(refused.every((l) => l['outcome'] === 'error' && l['user'] === 'alice@example.com'));
    assert.deepEqual(
      refused.slice(0, hostile.length).map((l) => l['era']),
      hostile.map((_, i) => (i === 6 ? 'session' : 'stateless')),
    );
    const forwarded = audit.filter(
      (l) => typeof l['rpc_id'] === 'number' && (l['rpc_id'] as number) >= 901 && (l['rpc_id'] as number) <= 908,
    );
    assert.deepEqual(
      forwarded.map((l) => l['rpc_id']),
      [],
      'no refused request reached a child',
    );
    const version = await post(
      { ...modernHeaders(token, 'tools/list') },
      JSON.stringify({
        jsonrpc: '2.0',
        id: 910,
        method: 'tools/list',
        params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2027-01-01' } },
      }).replace('2027-01-01', '2026-07-29'),
    );
    assert.equal(version.status, 400);
    assert.equal(JSON.parse(version.body).error.code, -32020, 'header 2026-07-28, body 2026-07-29');
    const plain = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const later = JSON.stringify({
      jsonrpc: '2.0',
      id: 912,
      method: 'tools/list',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2027-01-01' } },
    });
    const unsupported = await post(plain, later);
    assert.deepEqual([unsupported.status, JSON.parse(unsupported.body).error.code], [400, -32022]);
    const bare = JSON.stringify({ jsonrpc: '2.0', id: 913, method: 'tools/list' });
    const noMeta = await post(modernHeaders(token, 'tools/list'), bare);
    assert.deepEqual(
      [noMeta.status, JSON.parse(noMeta.body).error.code],
      [400, -32602],
      'a 2026-07-28 header, no _meta',
    );
    const initParams = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } };
    const stray = await post(modernHeaders(token, 'initialize'), modernBody(914, 'initialize', initParams));
    // SEP-2575: initialize is a removed method at 2026-07-28: 404 with -32601, the request's id echoed.
    const strayError = JSON.parse(stray.body);
    assert.deepEqual(
      [stray.status, strayError.error.code, strayError.id],
      [404, -32601, 914],
      'initialize, 2026-07-28',
    );
  });
});
