import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  daemonConfig,
  endSession,
  INITIALIZE,
  JSON_HEADERS,
  raw,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

const DENIED = -32003;

/** A server whose deny list is the pattern that froze the old regex matcher. */
const GUARDED = `
[servers.guarded]
command = ["${process.execPath}", "${new URL('../fixtures/servers/notes.js', import.meta.url).pathname}"]
allow_users = ["alice@example.com"]
tools = { allow = ["*"], deny = ["*_*_*_admin"] }
`;

describe('daemon: hostile names, schemes and identities', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(GUARDED));
  });
  after(async () => {
    await h.close();
  });

  it('a 100,000-char tool name against a pathological deny pattern is refused while another server answers', async () => {
    const token = await h.token('guarded');
    const auth = { authorization: `Bearer ${token}` };
    const opened = await raw(h.unix('guarded'), 'POST', { ...JSON_HEADERS, ...auth }, INITIALIZE);
    assert.equal(opened.status, 200, opened.body);
    const session = String(opened.headers['mcp-session-id']);
    const name = `${'_'.repeat(100_000)}x`;
    const call = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } });
    const other = await sdkClient(h, 'notes', await h.token('notes'));
    try {
      const [hostile, echoed] = await Promise.all([
        raw(h.unix('guarded'), 'POST', { ...JSON_HEADERS, ...auth, 'mcp-session-id': session }, call),
        other.callTool({ name: 'echo', arguments: { message: 'still here' } }),
      ]);
      assert.deepEqual(echoed.content, [{ type: 'text', text: 'still here' }]);
      assert.equal(hostile.status, 200);
      const response = JSON.parse(hostile.body);
      assert.equal(response.id, 7);
      assert.equal(response.error.code, DENIED);
      assert.ok(hostile.body.length < 2000, 'the refusal does not echo the whole name');
      const line = h.audit().find((l) => l['event'] === 'denied' && l['rpc_id'] === 7 && l['server'] === 'guarded');
      assert.equal(line?.['outcome'], 'denied');
      assert.ok(String(line?.['tool']).length <= 512, 'the audit line carries a capped name');
    } finally {
      await endSession(other);
      await raw(h.unix('guarded'), 'DELETE', { ...auth, 'mcp-session-id': session });
    }
  });

  it('a name the deny pattern matches is refused; a near miss is passed on to the server', async () => {
    const client = await sdkClient(h, 'guarded', await h.token('guarded'));
    try {
      await assert.rejects(client.callTool({ name: 'a_b_c_admin', arguments: {} }), { code: DENIED });
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'ok' } });
      assert.deepEqual(echoed.content, [{ type: 'text', text: 'ok' }]);
    } finally {
      await endSession(client);
    }
  });

  for (const scheme of ['Basic YWxpY2U6c2VjcmV0', 'Digest username="alice"', 'Token abc', 'Bearerx abc']) {
    it(`Authorization "${scheme}" is no token: 401, a Bearer challenge without an error (RFC 6750 §3.1)`, async () => {
      const before = h.daemon.sessions.size;
      const r = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: scheme }, INITIALIZE);
      assert.equal(r.status, 401, r.body);
      const metadata = 'http://localhost/.well-known/oauth-protected-resource';
      assert.equal(r.headers['www-authenticate'], `Bearer resource_metadata="${metadata}"`);
      assert.equal(h.daemon.sessions.size, before);
    });
  }

  for (const header of ['Bearer', 'Bearer two tokens', 'Bearer tok"en']) {
    it(`Authorization "${header}" is a malformed Bearer request: 400 invalid_request`, async () => {
      const r = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: header }, INITIALIZE);
      assert.equal(r.status, 400, r.body);
      assert.match(String(r.headers['www-authenticate']), /^Bearer error="invalid_request"/);
    });
  }

  it('children get GATEKIT_GROUPS_JSON, unambiguous for a group name with a comma', async () => {
    const groups = ['ops', 'r&d, west', 'a"b'];
    const token = await h.token('notes', { user: 'carol@example.com', sub: 'sub-carol', groups });
    const client = await sdkClient(h, 'notes', token);
    try {
      const answer = await client.callTool({ name: 'whoami', arguments: {} });
      const who = JSON.parse((answer.content as Array<{ text: string }>)[0]!.text);
      assert.deepEqual(JSON.parse(who.groups_json), groups);
      assert.equal(who.groups, groups.join(','));
    } finally {
      await endSession(client);
    }
  });
});
