import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { canonicalJson, parseTraceparent } from '../lib/audit/index.js';
import {
  firstRpcMessage,
  INITIALIZE,
  JSON_HEADERS,
  raw,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const VALID = `00-${TRACE}-${PARENT}-01`;

describe('audit: trace context and argument digests', () => {
  let h: Harness;
  let post: (body: object, extra?: Record<string, string>) => ReturnType<typeof raw>;
  let nextId = 10;
  before(async () => {
    h = await startHarness();
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${await h.token('notes', { groups: [] })}` };
    const init = await raw(h.unix('notes'), 'POST', auth, INITIALIZE);
    const headers = {
      ...auth,
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': '2025-06-18',
    };
    post = (body, extra = {}) => raw(h.unix('notes'), 'POST', { ...headers, ...extra }, JSON.stringify(body));
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  });
  after(async () => {
    await h.close();
  });

  /** Calls whoami; returns the traceparent the child saw and the audit line of the call. */
  async function whoami(meta: Record<string, unknown> | undefined, headers: Record<string, string> = {}) {
    const id = nextId++;
    const res = await post(
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'whoami', arguments: {}, ...(meta ? { _meta: meta } : {}) },
      },
      headers,
    );
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse((await firstRpcMessage(res.body)).result.content[0].text).meta?.traceparent as string;
    const line = h.audit().find((l) => l['rpc_id'] === id && l['method'] === 'tools/call')!;
    return { seen, line };
  }

  it('a traceparent in params._meta (SEP-414) goes into the audit line and on to the child, under a new span', async () => {
    const { seen, line } = await whoami({ traceparent: VALID });
    const child = parseTraceparent(seen)!;
    assert.equal(child.traceId, TRACE);
    assert.notEqual(child.parentId, PARENT, 'the daemon is its own span');
    assert.equal(child.flags, '01');
    assert.deepEqual([line['trace_id'], line['span_id'], line['parent_span_id']], [TRACE, child.parentId, PARENT]);
  });

  it('the HTTP traceparent header is used when _meta has none; _meta wins over the header', async () => {
    const other = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-00`;
    const fromHeader = await whoami(undefined, { traceparent: VALID });
    assert.equal(fromHeader.line['trace_id'], TRACE);
    assert.equal(parseTraceparent(fromHeader.seen)!.traceId, TRACE);
    const both = await whoami({ traceparent: other }, { traceparent: VALID });
    assert.equal(both.line['trace_id'], '1'.repeat(32));
  });

  it('a malformed traceparent is ignored: a new trace is started and the bad value never reaches the child', async () => {
    const hostile = [
      VALID.toUpperCase(),
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `ff-${TRACE}-${PARENT}-01`,
      `${VALID}-extra`,
      ` ${VALID}`,
      `00-${TRACE}-${PARENT}-1`,
      'x'.repeat(100_000),
      42,
      { traceparent: VALID },
    ];
    for (const bad of hostile) {
      const { seen, line } = await whoami({ traceparent: bad });
      const child = parseTraceparent(seen);
      assert.ok(child, `the child gets a valid traceparent instead of ${String(bad).slice(0, 60)}`);
      assert.notEqual(child.traceId, TRACE);
      assert.equal(line['trace_id'], child.traceId);
      assert.equal(line['parent_span_id'], undefined);
    }
    const fallback = await whoami({ traceparent: 'garbage' }, { traceparent: VALID });
    assert.equal(fallback.line['trace_id'], TRACE, 'a bad _meta value falls back to a good header');
    const badHeader = await whoami(undefined, { traceparent: `${VALID}x` });
    assert.notEqual(badHeader.line['trace_id'], TRACE);
  });

  it('a request without a traceparent gets a new one, the same in the audit line and at the child', async () => {
    const { seen, line } = await whoami(undefined);
    const child = parseTraceparent(seen)!;
    assert.deepEqual([line['trace_id'], line['span_id']], [child.traceId, child.parentId]);
    const second = await whoami(undefined);
    assert.notEqual(second.line['trace_id'], line['trace_id']);
  });

  it('tools/call lines carry args_digest, the SHA-256 of the RFC 8785 form of the arguments, and never the arguments', async () => {
    const args = { message: 'secret-value', b: [1, 2.5, { z: true, a: null }], é: 'x', A: -0 };
    const expected = `sha256:${createHash('sha256').update('{"A":0,"b":[1,2.5,{"a":null,"z":true}],"message":"secret-value","é":"x"}').digest('base64url')}`;
    const id = nextId++;
    assert.equal(
      (await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: args } })).status,
      200,
    );
    const denied = nextId++;
    await post({
      jsonrpc: '2.0',
      id: denied,
      method: 'tools/call',
      params: { name: 'write_note', arguments: { text: 'secret-value', name: 'n' } },
    });
    const lines = h.audit();
    assert.equal(lines.find((l) => l['rpc_id'] === id)!['args_digest'], expected);
    const deniedLine = lines.find((l) => l['rpc_id'] === denied && l['event'] === 'denied')!;
    assert.equal(
      deniedLine['args_digest'],
      `sha256:${createHash('sha256').update('{"name":"n","text":"secret-value"}').digest('base64url')}`,
    );
    assert.ok(!JSON.stringify(lines).includes('secret-value'));
  });

  it('canonicalJson follows RFC 8785: sorted keys by UTF-16 units, ES number form, no whitespace', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: 'é\n' } }),
      '{"a":{"c":"é\\n","d":[3,{"x":2,"y":1}]},"b":1}',
    );
    assert.equal(canonicalJson([1e21, 1e-7, 0.1 + 0.2, -0]), '[1e+21,1e-7,0.30000000000000004,0]');
    assert.equal(
      canonicalJson({ '\u20ac': 1, '\ud83d\ude00': 2, '\u0080': 3 }),
      '{"\u0080":3,"\u20ac":1,"\ud83d\ude00":2}',
    );
    assert.throws(() => canonicalJson({ n: Number.NaN }), TypeError);
  });
});
