import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { request } from 'undici';
import { mintAccessToken } from '../lib/token/index.js';
import {
  BROKER_ISSUER,
  daemonConfig,
  endSession,
  firstRpcMessage,
  INITIALIZE,
  JSON_HEADERS,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { modernClient } from './helpers/modern-client.js';
import { whenFile } from './helpers/wait.js';

const CHANGES_SERVER = fileURLToPath(new URL('../fixtures/servers/modern-changes.js', import.meta.url));
const MODERN_SERVER = fileURLToPath(new URL('../fixtures/servers/modern-server.js', import.meta.url));
/** The bound of every wait for a notification or a stream's end. */
const BOUND_MS = 60_000;

// The fixture refuses initialize: the daemon answers it and speaks 2026-07-28 to the child (era/native.ts).
const CONFIG = `
[servers.changes]
command = ["${process.execPath}", "${CHANGES_SERVER}"]
allow_users = ["alice@example.com", "bob@example.com"]
tools = { allow = ["echo", "add_tool", "change_prompts", "touch", "blurt", "listens", "log"] }

# Only 2026-07-28 as well, but offers neither resources nor logging.
[servers.plain]
command = ["${process.execPath}", "${MODERN_SERVER}", "--modern-only"]
allow_users = ["alice@example.com"]
`;

/** `promise`, or a rejection naming `what` after BOUND_MS. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${BOUND_MS} ms`)), BOUND_MS);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** Each notification of one kind in arrival order, and a wait for the next one. */
function collect<T>(): { seen: T[]; push: (value: T) => void; next: (what: string) => Promise<T> } {
  const seen: T[] = [];
  let waiter: ((value: T) => void) | undefined;
  return {
    seen,
    push: (value) => {
      seen.push(value);
      waiter?.(value);
      waiter = undefined;
    },
    next: (what) => within(new Promise<T>((resolve) => (waiter = resolve)), what),
  };
}

type Listens = { open: Array<{ id: string; filter: Record<string, unknown> }>; cancelled: string[] };
const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text;
const listensOf = async (client: Client) => JSON.parse(textOf(await client.callTool({ name: 'listens' }))) as Listens;

describe('daemon: a 2026-07-28-only child’s change notifications reach a session-era client’s GET stream', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(CONFIG));
  });
  after(async () => {
    await h.close();
  });

  /** A v1 SDK client whose GET stream the daemon has opened (its audit line is written). */
  async function connected(user = 'alice@example.com'): Promise<Client> {
    const client = await sdkClient(h, 'changes', await h.token('changes', { user }));
    const session = (client.transport as StreamableHTTPClientTransport).sessionId;
    const audit = join(h.ws.dir, 'audit.jsonl');
    await whenFile(
      audit,
      () => (h.audit().some((l) => l['method'] === 'GET' && l['session'] === session) ? true : undefined),
      'the GET stream',
    );
    return client;
  }

  it('tools and prompts list_changed arrive on the GET stream; the re-listed tools are still filtered', async () => {
    const client = await connected();
    try {
      const tools = collect<unknown>();
      const prompts = collect<unknown>();
      client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => tools.push(n));
      client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => prompts.push(n));
      const { open } = await listensOf(client);
      assert.deepEqual(
        open.map((l) => l.filter),
        [{ toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true }],
        "one listen of the daemon's own, for every list the child says may change",
      );
      const changed = tools.next('tools/list_changed');
      await client.callTool({ name: 'add_tool', arguments: { name: 'added' } });
      const note = (await changed) as { params?: { _meta?: object } };
      assert.equal(note.params?._meta, undefined, 'no subscription id: the client opened no listen');
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('echo') && !names.includes('added') && !names.includes('secret'), names.join());
      const prompt = prompts.next('prompts/list_changed');
      await client.callTool({ name: 'change_prompts', arguments: {} });
      await prompt;
      assert.equal(tools.seen.length, 1);
    } finally {
      await endSession(client);
    }
  });

  it('resources/subscribe becomes the listen’s filter; only subscribed URIs reach the client; unsubscribe stops them', async () => {
    const client = await connected();
    try {
      const updates = collect<string>();
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));
      await client.subscribeResource({ uri: 'note://a' });
      const [listen] = (await listensOf(client)).open;
      assert.deepEqual(listen?.filter['resourceSubscriptions'], ['note://a'], 'the child listens for note://a');
      // Not subscribed: note://b the child itself holds back; note://c it blurts out anyway, and the daemon drops it.
      await client.callTool({ name: 'touch', arguments: { uri: 'note://b' } });
      await client.callTool({ name: 'blurt', arguments: { uri: 'note://c' } });
      let next = updates.next('resources/updated for note://a');
      await client.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
      assert.equal(await next, 'note://a');
      assert.deepEqual(updates.seen, ['note://a'], 'what came before it was not delivered');

      await client.unsubscribeResource({ uri: 'note://a' });
      await client.callTool({ name: 'blurt', arguments: { uri: 'note://a' } });
      await client.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
      await client.subscribeResource({ uri: 'note://b' });
      next = updates.next('resources/updated for note://b');
      await client.callTool({ name: 'touch', arguments: { uri: 'note://b' } });
      assert.equal(await next, 'note://b');
      assert.deepEqual(updates.seen, ['note://a', 'note://b'], 'nothing for note://a after its unsubscribe');
      const { open, cancelled } = await listensOf(client);
      assert.deepEqual(
        open.map((l) => l.filter['resourceSubscriptions']),
        [['note://b']],
        'one listen left at the child, for what is subscribed now',
      );
      assert.ok(cancelled.length >= 2, 'each superseded listen was cancelled at the child');
    } finally {
      await endSession(client);
    }
  });

  it("a second person's session does not receive the first's resource updates", async () => {
    const alice = await connected('alice@example.com');
    const bob = await connected('bob@example.com');
    try {
      const toAlice = collect<string>();
      const toBob = collect<string>();
      alice.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => toAlice.push(n.params.uri));
      bob.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => toBob.push(n.params.uri));
      await alice.subscribeResource({ uri: 'note://a' });
      await bob.subscribeResource({ uri: 'note://a' });
      const aliceNext = toAlice.next("alice's update");
      await alice.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
      await alice.callTool({ name: 'blurt', arguments: { uri: 'note://a' } });
      await aliceNext;
      const bobNext = toBob.next("bob's update");
      await bob.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
      await bobNext;
      assert.deepEqual(toBob.seen, ['note://a'], "bob got his own child's update only, none of alice's two");
    } finally {
      await endSession(alice);
      await endSession(bob);
    }
  });

  it('ping and logging/setLevel, which 2026-07-28 removed, are answered by the daemon; the level reaches the child', async () => {
    const client = await connected();
    try {
      assert.deepEqual(await within(client.ping(), 'ping'), {});
      const logs = collect<string>();
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(String(n.params.data)));
      // No level set: everything, as the same server logs for a session-era client of its own.
      let next = logs.next('the debug line');
      await client.callTool({ name: 'log', arguments: { levels: ['debug'] } });
      assert.equal(await next, 'debug');
      await client.setLoggingLevel('warning');
      next = logs.next('the error line');
      await client.callTool({ name: 'log', arguments: { levels: ['info', 'error'] } });
      assert.equal(await next, 'error');
      assert.deepEqual(logs.seen, ['debug', 'error'], 'info is below the level the client set');
      const refused = await client.setLoggingLevel('loud' as never).then(
        () => undefined,
        (e: { code?: number }) => e.code,
      );
      assert.equal(refused, -32602, 'a level that is none is refused');
    } finally {
      await endSession(client);
    }
  });

  it('refuses a subscription the child cannot hold: no capability, a URI that is none, past 64 per session', async () => {
    const codeOf = (call: Promise<unknown>) =>
      call.then(
        () => undefined,
        (e: { code?: number }) => e.code,
      );
    const plain = await sdkClient(h, 'plain', await h.token('plain'));
    const client = await connected();
    try {
      assert.equal(await codeOf(plain.subscribeResource({ uri: 'note://a' })), -32601, 'the child offers no subscribe');
      assert.equal(await codeOf(plain.setLoggingLevel('error')), -32601, 'the child offers no logging');
      assert.deepEqual(await plain.ping(), {}, 'ping needs no capability');
      assert.equal(await codeOf(client.subscribeResource({ uri: 42 as never })), -32602);
      for (let i = 0; i < 64; i++) await client.subscribeResource({ uri: `note://${i}` });
      assert.equal(await codeOf(client.subscribeResource({ uri: 'note://one-too-many' })), -32602);
      await client.subscribeResource({ uri: 'note://0' });
      const { open } = await listensOf(client);
      assert.equal(open.length, 1, 'one listen at the child, whatever came before');
      assert.equal((open[0]!.filter['resourceSubscriptions'] as string[]).length, 64);
    } finally {
      await endSession(plain);
      await endSession(client);
    }
  });

  it('a stateless client of the same server logs only at the level its own request asks for', async () => {
    const modern = await modernClient(h, 'changes', await h.token('changes'));
    try {
      const logs: string[] = [];
      modern.setNotificationHandler('notifications/message', (n) => void logs.push(String(n.params.data)));
      // A request's log lines come on its own answer stream, before its result.
      await modern.callTool({ name: 'log', arguments: { levels: ['debug', 'error'] } });
      assert.deepEqual(logs, [], 'no level in its envelope: no log lines (SEP-2575), whatever a session client got');
      const meta = { 'io.modelcontextprotocol/logLevel': 'error' };
      await modern.callTool({ name: 'log', arguments: { levels: ['debug', 'error'] }, _meta: meta });
      assert.deepEqual(logs, ['error']);
    } finally {
      await modern.close();
    }
  });

  it("the daemon's listen ends with the GET stream, at its token's expiry: cancelled at the child", async () => {
    // Issued 48 s ago for 1 s: the door takes it for about 13 s more (exp + 60 s of clock skew).
    const expiring = await mintAccessToken(h.key, {
      identity: { user: 'alice@example.com', sub: 'sub-alice@example.com', groups: [] },
      issuer: BROKER_ISSUER,
      resource: h.config.servers.get('changes')!.resource,
      scope: 'tools:*',
      clientId: 'gatekit-cli',
      userClaim: 'email',
      ttl: 1,
      now: Date.now() - 48_000,
    }).then((m) => m.token);
    const fresh = await h.token('changes');
    const via = h.unix('changes');
    const headers = { ...JSON_HEADERS, host: 'localhost', authorization: `Bearer ${fresh}` };
    const post = async (body: unknown, session: string) => {
      const res = await request('http://localhost/mcp', {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': session },
        body: JSON.stringify(body),
        dispatcher: via,
      });
      return res.statusCode === 202 ? (await res.body.text(), undefined) : firstRpcMessage(await res.body.text());
    };
    const init = await request('http://localhost/mcp', { method: 'POST', headers, body: INITIALIZE, dispatcher: via });
    await init.body.text();
    const session = init.headers['mcp-session-id'] as string;
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    const listens = async (id: number) =>
      JSON.parse(
        textOf((await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'listens' } }, session)).result),
      ) as Listens;
    assert.deepEqual((await listens(2)).open, [], 'no GET stream, no subscription: no listen');
    const get = await request('http://localhost/mcp', {
      method: 'GET',
      headers: {
        host: 'localhost',
        accept: 'text/event-stream',
        authorization: `Bearer ${expiring}`,
        'mcp-session-id': session,
      },
      dispatcher: via,
    });
    assert.equal(get.statusCode, 200);
    const [listen] = (await listens(3)).open;
    assert.ok(listen, 'the GET stream opened a listen at the child');
    await within(get.body.text(), 'the end of the GET stream');
    const after = await listens(4);
    assert.deepEqual(after.open, [], 'the stream ended with its token, and the listen with it');
    assert.deepEqual(after.cancelled, [listen.id]);
    const end = { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session }, dispatcher: via } as const;
    await (await request('http://localhost/mcp', end)).body.text();
  });
});
