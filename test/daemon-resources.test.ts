import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { fetch as undiciFetch, request } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { baseUrl, daemonConfig, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

const STATIC = 'demo://resource/static/document';
const POLICY = `resources = { allow = ["demo://resource/static/**", "demo://resource/session/**"], deny = ["${STATIC}/instructions.md"] }
prompts   = { allow = ["simple-prompt", "completable-prompt"] }

[[servers.everything.rule]]
prompts = ["completable-prompt"]
args    = { department = { enum = ["Engineering"] } }
`;

/** The v1 SDK client (session era) over the daemon. */
async function sessionClient(h: Harness, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(baseUrl(h, 'everything')), {
    fetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: h.unix('everything') } as never)) as typeof fetch,
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'resources-v1', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

/** What both SDKs' clients offer for resources and prompts. */
interface AnyClient {
  listResources(): Promise<{ resources: Array<{ uri: string }> }>;
  listResourceTemplates(): Promise<{ resourceTemplates: Array<{ uriTemplate: string }> }>;
  listPrompts(): Promise<{ prompts: Array<{ name: string }> }>;
  readResource(p: { uri: string }): Promise<{ contents: unknown[] }>;
  subscribeResource(p: { uri: string }): Promise<unknown>;
  getPrompt(p: { name: string; arguments?: Record<string, string> }): Promise<{ messages: unknown[] }>;
  complete(p: unknown): Promise<{ completion: { values: string[] } }>;
  close(): Promise<void>;
}

const refusedBy = (rule: string) => (err: unknown) => {
  const e = err as { code?: number; data?: { rule?: string } };
  assert.equal(e.code, -32003, String(err));
  assert.equal(e.data?.rule, rule);
  return true;
};

const HOSTILE: Array<[string, string]> = [
  [`${STATIC}/../../dynamic/text/1`, 'servers.everything.resources'],
  [`${STATIC}/%2e%2e/%2e%2e/dynamic/text/1`, 'servers.everything.resources'],
  [`${STATIC}%2F..%2F..%2Fdynamic/text/1`, 'servers.everything.resources'],
  ['DEMO://Resource/static/document/instructions.md', 'servers.everything.resources.deny'],
  [`${STATIC}//instructions.md`, 'servers.everything.resources.deny'],
  ['demo://resource/dynamic/text/1', 'servers.everything.resources.allow'],
];

describe('daemon: resources and prompts under policy, in both eras', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness(await daemonConfig(POLICY));
    token = await h.token('everything');
  });
  after(async () => {
    await h.close();
  });

  for (const era of ['session', 'stateless'] as const) {
    const open = async (): Promise<AnyClient> =>
      (era === 'session'
        ? await sessionClient(h, token)
        : await modernClient(h, 'everything', token)) as unknown as AnyClient;

    it(`${era}: lists show only what the person may use; reads of the rest are refused with the rule`, async () => {
      const client = await open();
      try {
        const uris = (await client.listResources()).resources.map((r) => r.uri);
        assert.ok(uris.includes(`${STATIC}/features.md`), uris.join());
        assert.ok(!uris.includes(`${STATIC}/instructions.md`), 'a denied resource is not listed');
        assert.ok(
          uris.every((u) => u.startsWith('demo://resource/static/') || u.startsWith('demo://resource/session/')),
        );
        const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
        assert.deepEqual(templates, [], 'the dynamic templates can expand to no allowed URI');
        const prompts = (await client.listPrompts()).prompts.map((p) => p.name).sort();
        assert.deepEqual(prompts, ['completable-prompt', 'simple-prompt']);

        assert.ok((await client.readResource({ uri: `${STATIC}/features.md` })).contents.length > 0);
        for (const [uri, rule] of HOSTILE)
          await assert.rejects(client.readResource({ uri }), refusedBy(rule), `resources/read ${uri}`);
        if (era === 'session')
          await assert.rejects(
            client.subscribeResource({ uri: `${STATIC}/instructions.md` }),
            refusedBy('servers.everything.resources.deny'),
          );
        else {
          // 2026-07-28 subscribes in a listen's filter: one URI the person may not read refuses the listen.
          const notifications = { resourceSubscriptions: [`${STATIC}/features.md`, `${STATIC}/instructions.md`] };
          const r = await request(baseUrl(h, 'everything'), {
            method: 'POST',
            dispatcher: h.unix('everything'),
            headers: modernHeaders(token, 'subscriptions/listen'),
            body: modernBody(7, 'subscriptions/listen', { notifications }),
          });
          const answer = JSON.parse(await r.body.text()) as { error?: { code: number; data?: { rule?: string } } };
          assert.equal(answer.error?.code, -32003);
          assert.equal(answer.error?.data?.rule, 'servers.everything.resources.deny');
        }
        assert.ok((await client.getPrompt({ name: 'simple-prompt' })).messages.length > 0);
        await assert.rejects(
          client.getPrompt({ name: 'args-prompt', arguments: { city: 'x' } }),
          refusedBy('servers.everything.prompts.allow'),
        );
        await assert.rejects(
          client.getPrompt({ name: 'completable-prompt', arguments: { department: 'Sales', name: 'Eve' } }),
          refusedBy('servers.everything.rule[0].args.department.enum'),
        );
        const done = await client.complete({
          ref: { type: 'ref/prompt', name: 'completable-prompt' },
          argument: { name: 'department', value: 'Eng' },
        });
        assert.deepEqual(done.completion.values, ['Engineering']);
        await assert.rejects(
          client.complete({ ref: { type: 'ref/prompt', name: 'args-prompt' }, argument: { name: 'city', value: 'x' } }),
          refusedBy('servers.everything.prompts.allow'),
        );
        await assert.rejects(
          client.complete({
            ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/text/{resourceId}' },
            argument: { name: 'resourceId', value: '1' },
          }),
          refusedBy('servers.everything.resources.allow'),
        );
      } finally {
        await client.close();
      }
      const denied = h.audit().filter((l) => l['event'] === 'denied' && l['era'] === era);
      const read = denied.find((l) => l['method'] === 'resources/read' && l['rule'] === 'servers.everything.resources');
      assert.ok(read, 'each refusal has its denied line');
      assert.equal(read['user'], 'alice@example.com');
      assert.ok(typeof read['resource'] === 'string');
      assert.ok(denied.some((l) => l['method'] === 'prompts/get' && l['prompt'] === 'args-prompt'));
      assert.ok(denied.some((l) => l['method'] === 'completion/complete'));
      // A refused request never reached the child: its only line is the denial (no request line with its id).
      const answered = new Set(
        h
          .audit()
          .filter((l) => l['event'] === 'request' && l['era'] === era)
          .map((l) => `${l['session']} ${l['rpc_id']}`),
      );
      for (const l of denied) assert.ok(!answered.has(`${l['session']} ${l['rpc_id']}`), JSON.stringify(l));
    });
  }

  it('a 2025-03-26 batch hiding a resources/read: that element is refused, the rest answered', async () => {
    const post = async (body: unknown, session?: string) => {
      const r = await request(baseUrl(h, 'everything'), {
        method: 'POST',
        dispatcher: h.unix('everything'),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-03-26',
          ...(session ? { 'mcp-session-id': session } : {}),
        },
        body: JSON.stringify(body),
      });
      const text = await r.body.text();
      return { status: r.statusCode, session: r.headers['mcp-session-id'] as string | undefined, text };
    };
    const init = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'batch', version: '1' } },
    });
    assert.equal(init.status, 200, init.text);
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, init.session);
    const batch = await post(
      [
        { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: `${STATIC}/features.md` } },
        { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: `${STATIC}/%2E%2E/dynamic/text/1` } },
        { jsonrpc: '2.0', id: 3, method: 'prompts/get', params: { name: 'resource-prompt' } },
      ],
      init.session,
    );
    assert.equal(batch.status, 200, batch.text);
    const answers = sseOrJson(batch.text) as Array<{
      id: number;
      result?: unknown;
      error?: { code: number; data?: { rule?: string } };
    }>;
    const byId = new Map(answers.map((a) => [a.id, a]));
    assert.ok(byId.get(1)?.result, batch.text);
    assert.equal(byId.get(2)?.error?.data?.rule, 'servers.everything.resources');
    assert.equal(byId.get(3)?.error?.data?.rule, 'servers.everything.prompts.allow');
  });

  it('a resources/updated for a URI the person may no longer read is not delivered: a reload stops it at once', async () => {
    const client = await sessionClient(h, token);
    try {
      const kept = `${STATIC}/features.md`;
      const revoked = `${STATIC}/architecture.md`;
      const updated: string[] = [];
      let waiting: { count: number; resolve: () => void } | undefined;
      const keptCount = () => updated.filter((u) => u === kept).length;
      const untilKept = (count: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no update ${count} of ${kept} in 60 s`)), 60_000);
          waiting = { count, resolve: () => (clearTimeout(timer), resolve()) };
          if (keptCount() >= count) waiting.resolve();
        });
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updated.push(n.params.uri);
        if (waiting && keptCount() >= waiting.count) waiting.resolve();
      });
      // server-everything sends every subscribed URI's update, in the order of the subscriptions, now and every 5 s.
      await client.subscribeResource({ uri: revoked });
      await client.subscribeResource({ uri: kept });
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await untilKept(1);
      assert.deepEqual(updated.slice(0, 2), [revoked, kept], 'both are delivered while both are allowed');
      const text = readFileSync(h.ws.config, 'utf8');
      writeFileSync(h.ws.config, text.replace(`deny = ["${STATIC}/instructions.md"]`, `deny = ["${revoked}"]`));
      assert.ok(loadConfig({ config: h.ws.config }).servers.get('everything')!.resources!.deny[0] === revoked);
      // No request on this session after the reload: the reload itself re-decides what its owner may hear.
      await h.daemon.reload();
      const seen = keptCount();
      await untilKept(seen + 2);
      // The tick after the first one past the reload began after it: its revoked update came first, and never arrived.
      const firstAfter = updated.findIndex(
        (u, i) => u === kept && updated.slice(0, i + 1).filter((x) => x === kept).length === seen + 1,
      );
      assert.deepEqual(updated.slice(firstAfter + 1), [kept], updated.join());
    } finally {
      await client.close();
    }
  });
});

/** A batch's answers, whether one JSON array or SSE events (each a message or an array). */
function sseOrJson(text: string): unknown[] {
  if (text.trimStart().startsWith('[')) return JSON.parse(text) as unknown[];
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .flatMap((l) => [JSON.parse(l.slice(6)) as unknown].flat());
}
