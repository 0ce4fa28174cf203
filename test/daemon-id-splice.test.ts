import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withClientId } from '../lib/daemon/jsonrpc.js';
import { INITIALIZE, JSON_HEADERS, raw, startHarness } from './helpers/daemon-harness.js';

describe("daemon: the client's id spliced into the child's answer line", () => {
  it('splices only a last top-level "id" that is the only one in the line', () => {
    const ok = '{"result":{"content":[]},"jsonrpc":"2.0","id":7}';
    assert.equal(withClientId(ok, 7, 'a"b\\c'), '{"result":{"content":[]},"jsonrpc":"2.0","id":"a\\"b\\\\c"}');
    assert.equal(withClientId(ok, 7, 12), '{"result":{"content":[]},"jsonrpc":"2.0","id":12}');
    assert.equal(withClientId('{"id":7}', 7, 1), '{"id":1}');
    const hostile = [
      ['another child id', ok, 8],
      ['a longer id ending the same', '{"result":{},"id":17}', 7],
      ['an earlier duplicate id', '{"id":"x","result":{},"id":7}', 7],
      ['a nested id', '{"result":{"id":3},"id":7}', 7],
      ['a key ending in "id"', '{"result":{"x\\"id":3},"id":7}', 7],
      ['whitespace', '{"result":{}, "id": 7}', 7],
      ['id inside a string', '{"result":{"t":"x\\",\\"id\\":7}"},"jsonrpc":"2.0"}', 7],
      ['id first (an error answer)', '{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}', 7],
    ] as const;
    for (const [why, line, childId] of hostile) assert.equal(withClientId(line, childId, 'c'), undefined, why);
  });

  it('a hostile string id and an echo that spells ids come back exactly as JSON.stringify would give them', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${await h.token('notes')}` };
    const init = await raw(h.unix('notes'), 'POST', auth, INITIALIZE);
    assert.equal(init.status, 200, init.body);
    const headers = {
      ...auth,
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': '2025-06-18',
    };
    await raw(
      h.unix('notes'),
      'POST',
      headers,
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    );
    for (const [id, message] of [
      ['"},"id":2}\u2028\ud800', '","id":2}'],
      [2, '"id":3}'],
      ['x', 'plain'],
    ] as const) {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message } },
      });
      const res = await raw(h.unix('notes'), 'POST', headers, body);
      assert.equal(res.status, 200, res.body);
      const answer = JSON.parse(res.body) as { id: unknown; result: { content: { text: string }[] } };
      assert.deepEqual(answer.id, id);
      assert.match(answer.result.content[0]!.text, new RegExp(message.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')));
      assert.equal(res.body, JSON.stringify(answer), 'the bytes a re-serialization would send');
    }
  });
});
