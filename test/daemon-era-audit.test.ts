import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { MODERN, modernBody, modernHeaders } from './helpers/modern-client.js';

/** A value a client chose: it must never reach the audit log, whatever the refusal. */
const HOSTILE = 'HOSTILE-MARKER-"},{"era":"forged';

describe('daemon: refusals before the body name the era the headers tell', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  /** The audit lines a request wrote, and the raw text of the whole log. */
  async function linesOf(send: () => Promise<{ status: number }>, status: number) {
    const before = h.audit().length;
    const res = await send();
    assert.equal(res.status, status);
    return { lines: h.audit().slice(before), text: readFileSync(join(h.ws.dir, 'audit.jsonl'), 'utf8') };
  }

  it('a 401 with a 2026-07-28 header logs era "stateless"; one with a session id logs "session"', async () => {
    const modern = modernHeaders('', 'tools/list');
    delete (modern as Record<string, string>)['authorization'];
    const stateless = await linesOf(() => raw(h.unix('notes'), 'POST', modern, modernBody(1, 'tools/list')), 401);
    assert.deepEqual(
      stateless.lines.map((l) => [l['event'], l['era']]),
      [['auth.failed', 'stateless']],
    );
    const withSession = { ...JSON_HEADERS, 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': MODERN };
    const session = await linesOf(() => raw(h.unix('notes'), 'POST', withSession, modernBody(2, 'tools/list')), 401);
    assert.deepEqual(
      session.lines.map((l) => [l['event'], l['era']]),
      [['auth.failed', 'session']],
      'a session id wins over the version header',
    );
    const neither = await linesOf(() => raw(h.unix('notes'), 'POST', JSON_HEADERS, INITIALIZE), 401);
    assert.deepEqual(
      neither.lines.map((l) => [l['event'], Object.hasOwn(l, 'era')]),
      [['auth.failed', false]],
      'headers that tell no era: no era field',
    );
  });

  it('a 403 at the door, an unknown session and a 415 carry the era too', async () => {
    const stranger = await h.token('notes', { user: 'mallory@example.com' });
    const denied = await linesOf(
      () => raw(h.unix('notes'), 'POST', modernHeaders(stranger, 'tools/list'), modernBody(1, 'tools/list')),
      403,
    );
    assert.deepEqual(
      denied.lines.map((l) => [l['event'], l['era']]),
      [['denied', 'stateless']],
    );
    const token = await h.token('notes');
    const unknown = { ...JSON_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': 'no-such-session' };
    const lost = await linesOf(() => raw(h.unix('notes'), 'POST', unknown, modernBody(2, 'tools/list')), 404);
    assert.deepEqual(
      lost.lines.map((l) => [l['event'], l['era']]),
      [['request', 'session']],
    );
    const textual = { ...modernHeaders(token, 'tools/list'), 'content-type': 'text/plain' };
    const media = await linesOf(() => raw(h.unix('notes'), 'POST', textual, modernBody(3, 'tools/list')), 415);
    assert.deepEqual(
      media.lines.map((l) => [l['event'], l['era']]),
      [['request', 'stateless']],
    );
  });

  it('a hostile session id or version header reaches the log only as the fixed words', async () => {
    const token = await h.token('notes');
    const noToken = { ...JSON_HEADERS, 'mcp-session-id': HOSTILE };
    const one = await linesOf(() => raw(h.unix('notes'), 'POST', noToken, INITIALIZE), 401);
    assert.equal(one.lines[0]!['era'], 'session');
    const version = { ...JSON_HEADERS, 'mcp-protocol-version': `9999-${HOSTILE}` };
    const two = await linesOf(() => raw(h.unix('notes'), 'POST', version, INITIALIZE), 401);
    assert.equal(two.lines[0]!['era'], 'stateless', 'a version after 2026-07-28, as the body step reads it');
    const bearer = { ...version, authorization: `Bearer ${token}` };
    // After the door: a stateless claim with no _meta version, and a GET with an unknown version.
    const three = await linesOf(() => raw(h.unix('notes'), 'POST', bearer, INITIALIZE), 400);
    assert.equal(three.lines[0]!['era'], 'stateless');
    const old = { ...bearer, 'mcp-protocol-version': `1999-${HOSTILE}`, accept: 'text/event-stream' };
    const four = await linesOf(() => raw(h.unix('notes'), 'GET', old), 400);
    assert.equal(Object.hasOwn(four.lines[0]!, 'era'), false);
    assert.ok(!four.text.includes('HOSTILE-MARKER'), 'no header value in the audit log');
    assert.ok(!four.text.includes(token), 'nor the token');
  });
});
