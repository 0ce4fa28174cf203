import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernHeaders } from './helpers/modern-client.js';

const SESSION_VERSIONS = ['2024-10-07', '2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
const BATCH_VERSIONS = new Set(['2024-10-07', '2024-11-05', '2025-03-26']);
const DENIED = -32003;
const rpc = (id: number, method: string, params?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params ? { params } : {}),
});
const forbidden = (id: number, v: string) =>
  rpc(id, 'tools/call', { name: 'write_note', arguments: { name: `probe-${v}`, text: 'x' } });

describe('daemon: one policy gate below version dispatch', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('one forbidden tools/call in every version and shape is refused and never reaches a child', async () => {
    const token = await h.token('notes');
    const post = (headers: Record<string, string>, body: unknown) =>
      raw(h.unix('notes'), 'POST', headers, JSON.stringify(body));
    let probes = 0;
    for (const v of SESSION_VERSIONS) {
      const init = await post(
        { ...JSON_HEADERS, authorization: `Bearer ${token}` },
        rpc(1, 'initialize', { protocolVersion: v, capabilities: {}, clientInfo: { name: 'probe', version: '1' } }),
      );
      assert.equal(init.status, 200, v);
      const headers = {
        ...JSON_HEADERS,
        authorization: `Bearer ${token}`,
        'mcp-session-id': String(init.headers['mcp-session-id']),
        'mcp-protocol-version': v,
      };
      assert.equal((await post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
      const single = await post(headers, forbidden(2, v));
      assert.equal(JSON.parse(single.body).error.code, DENIED, `${v} single`);
      probes++;
      const batch = await post(headers, [
        rpc(3, 'tools/call', { name: 'echo', arguments: { message: 'ok' } }),
        forbidden(4, v),
      ]);
      if (BATCH_VERSIONS.has(v)) {
        const answers = JSON.parse(batch.body) as Array<{ id: number; error?: { code: number }; result?: unknown }>;
        assert.equal(answers.find((a) => a.id === 4)!.error!.code, DENIED, `${v} batch`);
        assert.ok(answers.find((a) => a.id === 3)!.result, `${v}: the allowed element of the batch still runs`);
        probes++;
      } else {
        assert.equal(batch.status, 400, `${v}: no batches`);
      }
      const notes = JSON.parse((await post(headers, rpc(5, 'tools/call', { name: 'list_notes', arguments: {} }))).body);
      assert.doesNotMatch(notes.result.content[0].text, /probe/, v);
    }
    const stateless = (method: string, body: string, name?: string) =>
      raw(h.unix('notes'), 'POST', modernHeaders(token, method, name), body);
    const refused = await stateless(
      'tools/call',
      modernBody(6, 'tools/call', forbidden(0, 'modern').params),
      'write_note',
    );
    assert.equal(refused.status, 200);
    assert.equal(JSON.parse(refused.body).error.code, DENIED, 'stateless single');
    probes++;
    const smuggled = await stateless(
      'tools/call',
      modernBody(7, 'tools/call', { name: ['write_note'], arguments: {} }),
    );
    assert.equal(JSON.parse(smuggled.body).error.code, DENIED, 'a tool name that is not a string');
    probes++;
    const modernBatch = `[${modernBody(8, 'tools/call', forbidden(0, 'batch').params)}]`;
    const versioned = { ...JSON_HEADERS, authorization: `Bearer ${token}`, 'mcp-protocol-version': '2026-07-28' };
    assert.equal((await raw(h.unix('notes'), 'POST', versioned, modernBatch)).status, 400);
    assert.equal(
      (await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, modernBatch)).status,
      400,
      'a batch with a 2026-07-28 element is refused, not served as session-era',
    );
    const listed = await stateless(
      'tools/call',
      modernBody(9, 'tools/call', { name: 'list_notes', arguments: {} }),
      'list_notes',
    );
    assert.doesNotMatch(JSON.parse(listed.body).result.content[0].text, /probe/);

    const audit = h.audit();
    assert.equal(
      audit.filter((l) => l['event'] === 'denied' && l['outcome'] === 'denied' && l['method'] === 'tools/call').length,
      probes,
    );
    assert.deepEqual(
      audit.filter((l) => l['event'] === 'request' && l['tool'] === 'write_note'),
      [],
      'nothing forwarded',
    );
    const eras = new Set(audit.filter((l) => l['event'] === 'denied').map((l) => l['era']));
    assert.deepEqual([...eras].sort(), ['session', 'stateless']);
  });

  it('resources/*, prompts/* and unknown methods are forwarded once the person is admitted', async () => {
    const token = await h.token('notes');
    for (const method of ['resources/list', 'prompts/get', 'no/such-method']) {
      const name = method === 'prompts/get' ? 'p' : undefined;
      const res = await raw(
        h.unix('notes'),
        'POST',
        modernHeaders(token, method, name),
        modernBody(20, method, name ? { name } : {}),
      );
      assert.equal(
        JSON.parse(res.body).error.code,
        -32601,
        `${method}: the notes fixture has none, and says so itself`,
      );
    }
    const outsider = await h.token('notes', { user: 'mallory@example.com' });
    const res = await raw(
      h.unix('notes'),
      'POST',
      modernHeaders(outsider, 'resources/list'),
      modernBody(21, 'resources/list'),
    );
    assert.equal(res.status, 403, 'admission comes first, in every era');
  });
});
