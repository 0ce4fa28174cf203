import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { conformanceDaemonConfig } from '../fixtures/conformance-config.js';
import { raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

const SERVER = fileURLToPath(new URL('../fixtures/conformance-server.js', import.meta.url));
// fixtures/conformance-stateless.ts: test_custom_header's `region` is `x-mcp-header: Region`.
const TOOL = 'test_custom_header';

/**
 * SEP-2243 custom parameter headers through the daemon: the child (stdio) never sees headers, so the daemon checks
 * `Mcp-Param-*` against the body by the `x-mcp-header` declarations of the child's own tools/list.
 */
describe('daemon: Mcp-Param-* headers are checked against the body (SEP-2243)', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    const narrow = `
[servers.narrow]
command = ["${process.execPath}", "${SERVER}", "stdio"]
allow_users = ["alice@example.com"]
tools = { deny = ["${TOOL}"] }
`;
    h = await startHarness((await conformanceDaemonConfig(SERVER)) + narrow);
    token = await h.token('conformance');
  });
  after(async () => {
    await h.close();
  });

  const call = (id: number, args: Record<string, unknown>, extra: Record<string, string>, server = 'conformance') =>
    raw(
      h.unix(server),
      'POST',
      { ...modernHeaders(server === 'conformance' ? token : narrowToken, 'tools/call', TOOL), ...extra },
      modernBody(id, 'tools/call', { name: TOOL, arguments: args }),
    );
  let narrowToken = '';
  const answer = (body: string) => JSON.parse(body) as { id: unknown; result?: unknown; error?: { code: number } };
  const reachedChild = (id: number) =>
    h.audit().some((l) => l['rpc_id'] === id && l['event'] === 'request' && l['outcome'] === 'ok');

  it('a header that disagrees with the body is 400 / -32020 and never reaches the child, even before any tools/list', async () => {
    // The first request of this person: the daemon reads the child's tool list itself before checking.
    const res = await call(1, { region: 'eu-west' }, { 'mcp-param-region': 'us-east' });
    assert.deepEqual([res.status, answer(res.body).error?.code, answer(res.body).id], [400, -32020, 1]);
    assert.ok(!res.body.includes('eu-west') && !res.body.includes('us-east'), 'no argument value in the error');
    assert.ok(!reachedChild(1));
    const line = h.audit().find((l) => l['rpc_code'] === -32020);
    assert.equal(line?.['era'], 'stateless');
    assert.ok(!JSON.stringify(h.audit()).includes('eu-west'), 'no argument value in the audit log');
  });

  it('a missing header for an argument in the body, and invalid Base64 in one, are refused alike', async () => {
    const missing = await call(2, { region: 'eu-west' }, {});
    assert.deepEqual([missing.status, answer(missing.body).error?.code], [400, -32020]);
    for (const [i, bad] of ['=?base64?SGVsbG8?=', '=?base64?SGVs!!!bG8=?=', '=?base64?/w==?='].entries()) {
      const res = await call(10 + i, { region: 'Hello' }, { 'mcp-param-region': bad });
      assert.deepEqual([res.status, answer(res.body).error?.code], [400, -32020], bad);
    }
    assert.ok(!reachedChild(2) && !reachedChild(10) && !reachedChild(11) && !reachedChild(12));
  });

  it('agreeing headers pass: plain, Base64 of UTF-8, a literal that only looks encoded, case-insensitive name', async () => {
    const ok = async (id: number, region: string, header: string, name = 'mcp-param-region') => {
      const res = await call(id, { region }, { [name]: header });
      assert.equal(res.status, 200, `${region} / ${header}: ${res.body}`);
      assert.equal(
        (answer(res.body).result as { content: Array<{ text: string }> }).content[0]!.text,
        `region ${region}`,
      );
    };
    await ok(20, 'eu-west', 'eu-west');
    await ok(21, 'Zürich', `=?base64?${Buffer.from('Zürich').toString('base64')}?=`);
    await ok(22, '=?base64?SGVsbG8=', '=?base64?SGVsbG8=');
    await ok(23, 'eu-west', 'eu-west', 'MCP-PARAM-REGION');
    // A header for an argument the body does not carry is ignored; so is one no declaration names.
    const res = await call(24, { region: 'x' }, { 'mcp-param-region': 'x', 'mcp-param-other': 'y' });
    assert.equal(res.status, 200);
  });

  it('a tool the person may not call is refused by the tool gate, not probed through its headers', async () => {
    narrowToken = await h.token('narrow');
    const res = await call(30, { region: 'eu-west' }, { 'mcp-param-region': 'us-east' }, 'narrow');
    assert.deepEqual([res.status, answer(res.body).error?.code], [200, -32003]);
  });

  it('the v2 SDK client calls an x-mcp-header tool through the daemon: it derives the header, the daemon agrees', async () => {
    const client = await modernClient(h, 'conformance', token);
    try {
      const result = (await client.callTool({ name: TOOL, arguments: { region: 'ap-south' } })) as {
        content: Array<{ text: string }>;
      };
      assert.equal(result.content[0]!.text, 'region ap-south');
    } finally {
      await client.close();
    }
  });
});
