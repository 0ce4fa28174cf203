import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageEra, statelessHeaders } from '../lib/bridge/index.js';
import { decodeHeaderValue, encodeHeaderValue } from '../lib/mcp/index.js';
import { classifyEra } from '../lib/daemon/era/wire.js';
import { isValidMessage } from '../lib/mcp/index.js';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const modern = (method: string, params: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  params: { ...params, _meta: ENVELOPE },
});

describe("gatekit connect reads its client's era and derives the 2026-07-28 headers from the body", () => {
  it('initialize is session-era, server/discover and a 2026-07-28 envelope are stateless, the rest follows', () => {
    assert.equal(messageEra({ jsonrpc: '2.0', id: 0, method: 'initialize', params: {} }), 'session');
    assert.equal(messageEra({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { _meta: ENVELOPE } }), 'session');
    assert.equal(messageEra({ jsonrpc: '2.0', id: 0, method: 'server/discover' }), 'stateless');
    assert.equal(messageEra(modern('tools/list')), 'stateless');
    assert.equal(messageEra({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), undefined);
    assert.equal(messageEra({ jsonrpc: '2.0', id: 2, result: {} }), undefined);
    assert.equal(messageEra([modern('tools/list')]), undefined, 'a batch never starts the stateless era');
    const older = {
      jsonrpc: '2.0',
      id: 3,
      method: 'ping',
      params: { _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2025-06-18' } },
    };
    assert.equal(messageEra(older), undefined);
  });

  it('the daemon accepts the headers the bridge derives, for every method that names something', () => {
    const bodies = [
      modern('server/discover'),
      modern('tools/list'),
      modern('tools/call', { name: 'echo', arguments: { message: 'x' } }),
      modern('tools/call', { name: 'wërk tool ', arguments: {} }),
      modern('prompts/get', { name: 'simple' }),
      modern('resources/read', { uri: 'demo://resource/static/document/a b.md' }),
      modern('tasks/get', { taskId: 't-1' }),
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: ENVELOPE } },
    ];
    for (const body of bodies) {
      const headers = statelessHeaders(body);
      assert.ok(isValidMessage(body), body.method);
      const verdict = classifyEra(headers, [body], false);
      assert.deepEqual(verdict, { ok: true, era: 'stateless' }, `${body.method} ${JSON.stringify(headers)}`);
    }
  });

  it('an Mcp-Name wrapped as non-canonical Base64 or invalid UTF-8 is refused, as an Mcp-Param-* value is (-32020)', () => {
    const call = modern('tools/call', { name: 'echo', arguments: {} });
    assert.ok(isValidMessage(call));
    const headers = statelessHeaders(call);
    assert.equal(classifyEra({ ...headers, 'mcp-name': '=?base64?ZWNobw==?=' }, [call], false).ok, true);
    // Unpadded Base64, a lone UTF-8 continuation byte: one decoder for every header (lib/mcp).
    for (const hostile of ['=?base64?ZWNobw?=', '=?base64?gA==?=']) {
      const verdict = classifyEra({ ...headers, 'mcp-name': hostile }, [call], false);
      assert.equal(verdict.ok, false, hostile);
      assert.equal(!verdict.ok && verdict.code, -32020, hostile);
    }
  });

  it('a hostile name cannot inject a header: CR/LF, NUL, non-ASCII, look-alikes travel base64-encoded', () => {
    for (const name of ['echo\r\nx-evil: 1', 'a\u0000b', 'ünïcode', ' padded', '', '=?base64?ZWNobw==?=']) {
      const value = encodeHeaderValue(name);
      assert.match(value, /^=\?base64\?[A-Za-z0-9+/]*={0,2}\?=$/, JSON.stringify(name));
      assert.equal(decodeHeaderValue(value), name);
    }
    assert.equal(encodeHeaderValue('get-sum'), 'get-sum');
    const headers = statelessHeaders(modern('tools/call', { name: 'echo\r\nauthorization: x' }));
    assert.ok(Object.values(headers).every((v) => !/[\r\n]/.test(v)));
    assert.equal(statelessHeaders(modern('tools/call', { name: 42 }))['mcp-name'], undefined, 'no name, no header');
    assert.equal(statelessHeaders(modern('__proto__'))['mcp-name'], undefined);
  });
});
