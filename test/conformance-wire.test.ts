import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { conformanceDaemonConfig } from '../fixtures/conformance-config.js';
import { sseEvents } from '../lib/bridge/index.js';
import { raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { ENVELOPE, MODERN, modernBody, modernHeaders } from './helpers/modern-client.js';

/** The 2026-07-28 refusals the conformance suite's server-stateless scenario probes, sent by hand (SEP-2575). */
describe('daemon: 2026-07-28 refusals as SEP-2575 words them', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.token('notes');
  });
  after(async () => {
    await h.close();
  });
  const post = (headers: Record<string, string>, body: string) => raw(h.unix('notes'), 'POST', headers, body);
  const error = (body: string) => JSON.parse(body) as { id: unknown; error: { code: number; data?: unknown } };

  it('a removed session-era method gets 404 with -32601 and its id, and never reaches the child', async () => {
    for (const [i, method] of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe'].entries()) {
      const params = method === 'resources/subscribe' ? { uri: 'file:///etc/passwd' } : {};
      const res = await post(modernHeaders(token, method), modernBody(700 + i, method, params));
      assert.deepEqual([res.status, error(res.body).error.code, error(res.body).id], [404, -32601, 700 + i], method);
    }
    const refused = h.audit().filter((l) => l['rpc_code'] === -32601 && l['era'] === 'stateless');
    assert.deepEqual(
      refused.map((l) => l['outcome']),
      ['error', 'error', 'error', 'error'],
      'audited as refusals',
    );
    const removed = ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe'];
    assert.ok(!h.audit().some((l) => removed.includes(String(l['method'])) && l['outcome'] === 'ok'), 'not forwarded');
  });

  it("a method the child does not know: the child's -32601 goes out with HTTP 404", async () => {
    const res = await post(modernHeaders(token, 'no/such-method'), modernBody(601, 'no/such-method'));
    assert.deepEqual([res.status, error(res.body).error.code, error(res.body).id], [404, -32601, 601]);
    const found = await post(modernHeaders(token, 'tools/list'), modernBody(602, 'tools/list'));
    assert.equal(found.status, 200);
  });

  it('a _meta without clientCapabilities (or with a hostile one) gets 400 with -32602 and its id', async () => {
    for (const capabilities of [undefined, 'all', ['sampling'], null]) {
      const meta: Record<string, unknown> = { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': capabilities };
      if (capabilities === undefined) delete meta['io.modelcontextprotocol/clientCapabilities'];
      const body = JSON.stringify({ jsonrpc: '2.0', id: 'c1', method: 'tools/list', params: { _meta: meta } });
      const res = await post(modernHeaders(token, 'tools/list'), body);
      assert.deepEqual([res.status, error(res.body).error.code, error(res.body).id], [400, -32602, 'c1']);
    }
  });

  it('an unsupported stateless version gets UnsupportedProtocolVersionError listing what is supported', async () => {
    const asked = `2099-01-01${'x'.repeat(5000)}`;
    const meta = { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': asked };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 301, method: 'server/discover', params: { _meta: meta } });
    const res = await post({ ...modernHeaders(token, 'server/discover'), 'mcp-protocol-version': asked }, body);
    const { id, error: e } = error(res.body);
    assert.deepEqual([res.status, e.code, id], [400, -32022, 301]);
    const data = e.data as { supported: string[]; requested: string };
    assert.deepEqual(data.supported, [MODERN]);
    assert.ok(asked.startsWith(data.requested) && data.requested.length <= 100, 'the echo is bounded');
  });

  it('a session-era request with an unknown old version is still refused at the header', async () => {
    const init = { protocolVersion: '1999-01-01', capabilities: {}, clientInfo: { name: 'x', version: '1' } };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: init });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const res = await post(
      { ...headers, authorization: `Bearer ${token}`, 'mcp-protocol-version': '1999-01-01' },
      body,
    );
    assert.equal(res.status, 400);
  });
});

/**
 * A child's own JSON-RPC errors keep the HTTP status the 2026-07-28 transport names for their code (lib/mcp
 * `errorHttpStatus`): the v2 SDK reference server, spoken to natively as a pooled child.
 */
describe("daemon: a 2026-07-28 child's errors keep the HTTP status their code has", () => {
  let h: Harness;
  let token: string;
  before(async () => {
    const server = fileURLToPath(new URL('../fixtures/conformance-server.js', import.meta.url));
    h = await startHarness(await conformanceDaemonConfig(server));
    token = await h.token('conformance');
  });
  after(async () => {
    await h.close();
  });
  const call = (id: number, tool: string, capabilities: Record<string, unknown>) => {
    const meta = { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': capabilities };
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, _meta: meta } });
    return raw(h.unix('conformance'), 'POST', modernHeaders(token, 'tools/call', tool), body);
  };

  it("a child's -32021 (a capability the client did not declare) goes out with HTTP 400, even from a tools/call", async () => {
    const res = await call(41, 'test_missing_capability', {});
    const answer = JSON.parse(res.body) as { id: number; error: { code: number; data: Record<string, unknown> } };
    assert.deepEqual([res.status, answer.id, answer.error.code], [400, 41, -32021]);
    assert.deepEqual(answer.error.data['requiredCapabilities'], { sampling: {} });
    // Declared: the same tool asks for input in a 200 answer; a tool's own error (isError) stays 200 too.
    const declared = await call(42, 'test_missing_capability', { sampling: {} });
    assert.equal(declared.status, 200);
    assert.equal(JSON.parse(declared.body).result.resultType, 'input_required');
    const failing = await call(43, 'test_error_handling', {});
    assert.equal(failing.status, 200);
  });

  it("a stateless client's subscriptions/listen on a native child is the child's own: its tool change arrives", async () => {
    const headers = { ...modernHeaders(token, 'subscriptions/listen'), host: 'localhost' };
    const body = modernBody(77, 'subscriptions/listen', { notifications: { toolsListChanged: true } });
    // The bound of every wait below; the stream is closed at the end.
    const signal = AbortSignal.timeout(30_000);
    const res = await request('http://localhost/mcp', {
      method: 'POST',
      headers,
      body,
      dispatcher: h.unix('conformance'),
      signal,
    });
    assert.equal(res.statusCode, 200);
    const events = sseEvents(res.body)[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await events.next()).value!.data) as { method?: string; params?: any };
    const ack = await next();
    assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
    assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], 77);
    assert.equal(ack.params.notifications.toolsListChanged, true, "the child's own acknowledgement");
    const changed = await call(78, 'test_trigger_tool_change', {});
    assert.equal(changed.status, 200);
    const change = await next();
    assert.equal(change.method, 'notifications/tools/list_changed');
    assert.equal(change.params._meta['io.modelcontextprotocol/subscriptionId'], 77);
    res.body.destroy();
  });
});
