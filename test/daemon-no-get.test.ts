import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { sseEvents, type SseEvent } from '../lib/bridge/index.js';
import { INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';

// A client that never opens the GET stream (MCP Streamable HTTP lets it): the server's requests
// and notifications that belong to a pending POST must come on that POST's SSE answer.
// @see https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#sending-messages-to-the-server
describe('daemon: a client without a GET stream', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it("gets the sampling request on the tool call's SSE stream, answers it by POST, gets the tool result", async () => {
    const token = await h.token('notes');
    const headers = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const init = await raw(h.unix('notes'), 'POST', headers, INITIALIZE);
    assert.equal(init.status, 200);
    const session = {
      ...headers,
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': '2025-06-18',
    };
    const initialized = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal((await raw(h.unix('notes'), 'POST', session, initialized)).status, 202);

    const call = await request('http://localhost/mcp', {
      method: 'POST',
      dispatcher: h.unix('notes'),
      headers: { host: 'localhost', ...session },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'call-1',
        method: 'tools/call',
        params: { name: 'ask', arguments: { question: 'meaning of life?' } },
      }),
    });
    assert.equal(call.statusCode, 200);
    assert.match(String(call.headers['content-type']), /^text\/event-stream/);
    const events = sseEvents(call.body);
    const asked = JSON.parse(((await events.next()).value as SseEvent).data);
    assert.equal(asked.method, 'sampling/createMessage');
    assert.match(JSON.stringify(asked.params), /meaning of life\?/);

    const sampled = { role: 'assistant', content: { type: 'text', text: 'forty-two' }, model: 'test-model' };
    const answer = { jsonrpc: '2.0', id: asked.id, result: sampled };
    assert.equal((await raw(h.unix('notes'), 'POST', session, JSON.stringify(answer))).status, 202);
    const result = JSON.parse(((await events.next()).value as SseEvent).data);
    const expected = { content: [{ type: 'text', text: 'the client said: forty-two' }] };
    assert.deepEqual(result, { jsonrpc: '2.0', id: 'call-1', result: expected });
    assert.equal((await events.next()).done, true, 'the stream ends with the response');
  });
});
