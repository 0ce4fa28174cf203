import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { endSession, INITIALIZE, JSON_HEADERS, raw, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

type Text = { content: Array<{ text: string }> };
const textOf = (result: unknown) => (result as Text).content[0]!.text;

describe('daemon: MCP 2026-07-28 stateless requests beside session-era clients', () => {
  let h: Harness;
  before(async () => { h = await startHarness() });
  after(async () => { await h.close() });

  it('the v2 client (2026-07-28) and the v1 client side by side on the notes fixture: tools/list, tools/call', async () => {
    const token = await h.token('notes');
    const modern = await modernClient(h, 'notes', token);
    const legacy = await sdkClient(h, 'notes', token);
    try {
      assert.equal(modern.getProtocolEra(), 'modern');
      const expected = ['echo', 'list_notes', 'read_note', 'whoami'];
      const names = (tools: Array<{ name: string }>) => tools.map((t) => t.name).filter((n) => expected.includes(n) || n === 'write_note').sort();
      assert.deepEqual(names((await modern.listTools()).tools), expected, 'filtered by policy: no write_note without ops');
      assert.deepEqual(names((await legacy.listTools()).tools), expected);
      assert.equal(textOf(await modern.callTool({ name: 'echo', arguments: { message: 'modern' } })), 'modern');
      assert.equal(textOf(await legacy.callTool({ name: 'echo', arguments: { message: 'legacy' } })), 'legacy');
      const lines = h.audit().filter((l) => l['event'] === 'request' && l['tool'] === 'echo');
      assert.deepEqual(lines.map((l) => l['era']), ['stateless', 'session']);
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

  it('a stateless answer has no Mcp-Session-Id, and per-person lists say resultType, ttlMs 0, cacheScope private', async () => {
    const token = await h.token('notes');
    const list = await raw(h.unix('notes'), 'POST', modernHeaders(token, 'tools/list'), modernBody(7, 'tools/list'));
    assert.equal(list.status, 200);
    assert.equal(list.headers['mcp-session-id'], undefined);
    const body = JSON.parse(list.body);
    assert.equal(body.id, 7);
    assert.deepEqual([body.result.resultType, body.result.ttlMs, body.result.cacheScope], ['complete', 0, 'private']);
    const found = await raw(h.unix('notes'), 'POST', modernHeaders(token, 'server/discover'), modernBody(8, 'server/discover'));
    const discovered = JSON.parse(found.body).result;
    assert.deepEqual(discovered.supportedVersions, ['2026-07-28']);
    assert.equal(discovered.cacheScope, 'private');
    assert.ok(discovered.capabilities.tools);
    assert.equal(discovered._meta['io.modelcontextprotocol/serverInfo'].name, 'gatekit-notes');
  });

  it('server/discover offers no tools capability to a person who may call none', async () => {
    const token = await h.token('notes', { scope: 'tools:nothing_here' });
    const found = await raw(h.unix('notes'), 'POST', modernHeaders(token, 'server/discover'), modernBody(1, 'server/discover'));
    assert.equal(found.status, 200);
    assert.equal(JSON.parse(found.body).result.capabilities.tools, undefined);
  });
});
