import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { daemonConfig, endSession, raw, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { ASKER_CONFIG } from './helpers/asker.js';
import { MAX_WAITING_PER_PERSON, WAITING_TTL_MS } from '../lib/daemon/era/mrtr.js';
import { ENVELOPE, modernClient, modernHeaders } from './helpers/modern-client.js';

const CAPABILITIES = { sampling: {}, elicitation: { form: {} }, roots: {} };

type Text = { content: Array<{ text: string }> };
const textOf = (result: unknown) => (result as Text).content[0]!.text;

/** A v2 client that answers sampling with "forty-two" and every elicitation with { ok: true }. */
async function askedClient(h: Harness, token: string, server = 'asker'): Promise<Client> {
  const client = await modernClient(h, server, token, undefined, CAPABILITIES);
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'forty-two' },
    model: 'test-model',
  }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { ok: true } }));
  client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
  return client;
}

/** A hand-made 2026-07-28 tools/call, optionally a retry; answers the parsed JSON-RPC body. */
async function call(h: Harness, token: string, tool: string, retry: Record<string, unknown> = {}, caps = CAPABILITIES) {
  const meta = { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': caps };
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 9,
    method: 'tools/call',
    params: { name: tool, arguments: { what: 'deploy', question: 'why?' }, ...retry, _meta: meta },
  });
  const res = await raw(h.unix('asker'), 'POST', modernHeaders(token, 'tools/call', tool), body);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as { result?: Record<string, any>; error?: { code: number } };
}

describe('daemon: MCP 2026-07-28 multi round-trip requests (SEP-2322) from a session-era child', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(ASKER_CONFIG));
  });
  after(async () => {
    await h.close();
  });

  it('v2 client: sampling and elicitation as input_required rounds; v1 client beside it in its session', async () => {
    const token = await h.token('asker');
    const modern = await askedClient(h, token);
    const legacy = await sdkClient(h, 'asker', token);
    try {
      assert.equal(modern.getProtocolEra(), 'modern');
      const sampled = await modern.callTool({ name: 'sample', arguments: { question: 'meaning?' } });
      assert.equal(textOf(sampled), 'sampled: forty-two');
      assert.equal(textOf(await modern.callTool({ name: 'confirm', arguments: { what: 'x' } })), 'accept: {"ok":true}');
      assert.equal(textOf(await modern.callTool({ name: 'interview', arguments: {} })), 'accept, then forty-two');
      assert.equal(textOf(await modern.callTool({ name: 'roots', arguments: {} })), 'file:///work');
      assert.equal(textOf(await legacy.callTool({ name: 'roots', arguments: {} })), 'file:///tmp');
      assert.equal(
        textOf(await legacy.callTool({ name: 'sample', arguments: { question: 'q' } })),
        'sampled: forty-two',
      );
      const lines = h.audit().filter((l) => l['event'] === 'request' && l['tool'] === 'sample');
      assert.deepEqual(
        lines.map((l) => [l['era'], l['outcome']]),
        [
          ['stateless', 'ok'],
          ['session', 'ok'],
        ],
      );
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });

  it('server-everything behind a pooled child: its sampling and elicitation tools as input_required rounds', async () => {
    const modern = await askedClient(h, await h.token('everything'), 'everything');
    try {
      const sampled = await modern.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'meaning?' } });
      assert.match(JSON.stringify(sampled), /forty-two/);
      modern.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
      const elicited = await modern.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      assert.match(JSON.stringify(elicited), /decline/);
    } finally {
      await modern.close();
    }
  });

  it('wire: input_required, daemon-chosen ids, a requestState; the retry gets the final result once', async () => {
    const token = await h.token('asker');
    const first = await call(h, token, 'confirm');
    assert.equal(first.result?.['resultType'], 'input_required');
    const [[key, asked]] = Object.entries(first.result!['inputRequests']) as Array<[string, any]>;
    assert.equal(asked.method, 'elicitation/create');
    const requestState = first.result!['requestState'] as string;
    assert.match(requestState, /^[A-Za-z0-9_-]{43}$/);
    const retry = { requestState, inputResponses: { [key]: { action: 'decline' } } };
    const done = await call(h, token, 'confirm', retry);
    assert.equal(done.result?.['resultType'], 'complete');
    assert.equal(textOf(done.result), 'decline: {}');
    assert.equal((await call(h, token, 'confirm', retry)).error?.code, -32602, 'a requestState serves one retry');
  });

  it("refuses another person's retry, a forged state, another tool's; a retry passes the tool gate", async () => {
    const alice = await h.token('asker');
    const bob = await h.token('asker', { user: 'bob@example.com' });
    const first = await call(h, alice, 'confirm');
    const requestState = first.result!['requestState'] as string;
    const key = Object.keys(first.result!['inputRequests'])[0]!;
    const answer = { requestState, inputResponses: { [key]: { action: 'accept', content: { ok: true } } } };

    assert.equal((await call(h, bob, 'confirm', answer)).error?.code, -32003, "bob cannot resume alice's call");
    const forged = { ...answer, requestState: `${requestState.slice(0, -2)}AA` };
    assert.equal((await call(h, alice, 'confirm', forged)).error?.code, -32602);
    assert.equal((await call(h, alice, 'confirm', { ...answer, requestState: { $ne: 1 } })).error?.code, -32602);
    assert.equal((await call(h, alice, 'sample', answer)).error?.code, -32602, 'the state names another tool');
    assert.equal((await call(h, alice, 'write_note', answer)).error?.code, -32003, 'a retry passes the tool gate');
    const hostile = { requestState, inputResponses: { [key]: 'not a result' } };
    assert.equal((await call(h, alice, 'confirm', hostile)).error?.code, -32602);
    assert.equal((await call(h, alice, 'confirm', { inputResponses: answer.inputResponses })).error?.code, -32602);
    const denied = h.audit().filter((l) => l['event'] === 'denied' && l['sub'] === 'sub-bob@example.com');
    assert.equal(denied.length, 1);
    assert.equal(denied[0]!['era'], 'stateless');
    assert.ok(!JSON.stringify(h.audit()).includes(requestState), 'a requestState never reaches the audit log');

    const done = await call(h, alice, 'confirm', answer);
    assert.equal(textOf(done.result), 'accept: {"ok":true}', 'the refusals left the call waiting for alice');
  });

  it('a call left waiting past WAITING_TTL_MS is cancelled at the child; its requestState is gone', async (t) => {
    const token = await h.token('asker');
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const first = await call(h, token, 'confirm');
    const requestState = first.result!['requestState'] as string;
    const key = Object.keys(first.result!['inputRequests'])[0]!;
    t.mock.timers.tick(WAITING_TTL_MS);
    t.mock.timers.reset();
    const late = await call(h, token, 'confirm', { requestState, inputResponses: { [key]: { action: 'cancel' } } });
    assert.equal(late.error?.code, -32602);
    const ended = h.audit().filter((l) => l['tool'] === 'confirm' && l['error'] === 'the client sent no input in time');
    assert.equal(ended.length, 1);
  });

  it('a server request the client did not declare a capability for goes back to the child as an error', async () => {
    const token = await h.token('asker');
    const answer = await call(h, token, 'sample', {}, { elicitation: {} } as typeof CAPABILITIES);
    assert.notEqual(answer.result?.['resultType'], 'input_required');
    assert.ok(answer.error !== undefined || answer.result?.['isError'] === true, JSON.stringify(answer));
  });

  it('a waiting call is not a hung child; at most MAX_WAITING_PER_PERSON calls wait per person', async () => {
    const bob = await h.token('asker', { user: 'bob@example.com' });
    const waiting = [];
    for (let i = 0; i < MAX_WAITING_PER_PERSON; i++) {
      const first = await call(h, bob, 'confirm');
      assert.equal(first.result?.['resultType'], 'input_required');
      waiting.push(first.result!);
    }
    const pooled = h.daemon.sessions.all().find((s) => s.era === 'stateless' && s.owner.sub === 'sub-bob@example.com')!;
    h.daemon.sessions.sweep(h.config.daemon.limits, Date.now() + 60_000);
    assert.equal(pooled.ended, false, 'first_response_timeout does not end a child whose calls wait for input');

    const over = await call(h, bob, 'confirm');
    assert.notEqual(over.result?.['resultType'], 'input_required', 'at the bound the child hears "no"');
    assert.ok(over.error !== undefined || over.result?.['isError'] === true, JSON.stringify(over));

    for (const first of waiting) {
      const key = Object.keys(first['inputRequests'])[0]!;
      const retry = { requestState: first['requestState'], inputResponses: { [key]: { action: 'cancel' } } };
      assert.equal(textOf((await call(h, bob, 'confirm', retry)).result), 'cancel: {}');
    }
    assert.equal((await call(h, bob, 'confirm')).result?.['resultType'], 'input_required', 'room again');
    for (let i = 1; i < MAX_WAITING_PER_PERSON; i++) await call(h, bob, 'confirm');
    await pooled.end('test');
    const fresh = await call(h, bob, 'confirm');
    assert.equal(fresh.result?.['resultType'], 'input_required', "an ended child's calls no longer count");
  });
});
