import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { request } from 'undici';
import { sseEvents, type SseEvent } from '../lib/bridge/index.js';
import { daemonConfig, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { MODERN, modernClient, modernHeaders } from './helpers/modern-client.js';
import { gatekit } from './helpers/cli.js';

const TASKS_SERVER = fileURLToPath(new URL('../fixtures/servers/tasks.js', import.meta.url));
const MODERN_SERVER = fileURLToPath(new URL('../fixtures/servers/modern-server.js', import.meta.url));
const EXTENSION = 'io.modelcontextprotocol/tasks';
const TASKS_CAPS = { extensions: { [EXTENSION]: {} } };
const DENIED = -32003;
const ALICE = { user: 'alice@example.com' };
const BOB = { user: 'bob@example.com' };

/** Any result: the SDK has no task result schemas at 2026-07-28, so the test reads what came. */
const anyResult = {
  '~standard': {
    version: 1 as const,
    vendor: 'gatekit-test',
    types: undefined as unknown as { input: Record<string, unknown>; output: Record<string, unknown> },
    validate: (value: unknown) => ({ value: value as Record<string, unknown> }),
  },
};

// Two servers over one shared task store (the external job system the fixture fronts): any child can be asked
// about any task, so only the daemon keeps one person's task from another.
const servers = (store: string) => `
[servers.tasks]
command = ["${process.execPath}", "${TASKS_SERVER}"]
allow_users = ["alice@example.com", "bob@example.com"]
env = { TASKS_DIR = "${store}" }
tools = { allow = ["job", "echo"] }

[servers.jobs]
command = ["${process.execPath}", "${TASKS_SERVER}"]
allow_users = ["alice@example.com", "bob@example.com"]
env = { TASKS_DIR = "${store}" }

# Only 2025-11-25, and careless: every status change of the store goes to every one of its clients.
[servers.watch]
command = ["${process.execPath}", "${TASKS_SERVER}", "--session-only", "--broadcast"]
allow_users = ["alice@example.com", "bob@example.com"]
env = { TASKS_DIR = "${store}" }

# Its tools pinned in gatekit.lock by the test that uses it; a change taints the child.
[servers.pinned]
command = ["${process.execPath}", "${TASKS_SERVER}", "--session-only"]
allow_users = ["alice@example.com"]
env = { TASKS_DIR = "${store}" }
on_tool_change = "deny_server"

[servers.plain]
command = ["${process.execPath}", "${MODERN_SERVER}"]
allow_users = ["alice@example.com"]
`;

/** The answer in a POST's body, JSON or SSE (where a child's notifications may come first). */
async function answerIn(body: string): Promise<any> {
  if (body.trimStart().startsWith('{')) return JSON.parse(body);
  for await (const event of sseEvents(Readable.from([body]))) {
    const message = JSON.parse(event.data);
    if ('result' in message || 'error' in message) return message;
  }
  throw new Error(`no answer in: ${body.slice(0, 200)}`);
}

/** A 2026-07-28 request as a client declaring the tasks extension sends it. */
function modernRequest(id: number, method: string, params: Record<string, unknown>, caps: object = TASKS_CAPS): string {
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': caps,
  };
  return JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta } });
}

describe('daemon: tasks (SEP-2663) belong to the person, server and child that created them', () => {
  let h: Harness;
  let store: string;
  before(async () => {
    store = mkdtempSync(join(tmpdir(), 'gatekit-tasks-'));
    h = await startHarness(await daemonConfig(servers(store)));
  });
  after(async () => {
    await h.close();
    rmSync(store, { recursive: true, force: true });
  });

  /** One 2026-07-28 POST: status and the answer's bytes (the JSON-RPC message as the daemon wrote it). */
  async function post(
    server: string,
    token: string,
    id: number,
    method: string,
    params: Record<string, unknown>,
    caps?: object,
  ) {
    const name = typeof params['taskId'] === 'string' ? params['taskId'] : (params['name'] as string | undefined);
    const res = await raw(
      h.unix(server),
      'POST',
      modernHeaders(token, method, name),
      modernRequest(id, method, params, caps),
    );
    const message = await answerIn(res.body);
    return { status: res.status, text: JSON.stringify(message), message };
  }

  /** A new task of the `job` tool for `token`'s person on `server`: its id. */
  async function newTask(server: string, token: string, args: Record<string, unknown> = {}): Promise<string> {
    const created = await post(server, token, 1, 'tools/call', { name: 'job', arguments: { question: 'q', ...args } });
    assert.equal(created.message.result?.resultType, 'task', created.text);
    return created.message.result.taskId as string;
  }

  /** What `token`'s person gets for tasks/get, tasks/update and tasks/cancel of `taskId`. */
  async function probe(server: string, token: string, taskId: string) {
    const update = { taskId, inputResponses: { answer: { action: 'accept', content: { answer: 'stolen' } } } };
    return [
      await post(server, token, 7, 'tasks/get', { taskId }),
      await post(server, token, 7, 'tasks/update', update),
      await post(server, token, 7, 'tasks/cancel', { taskId }),
    ].map(({ status, text }) => ({ status, text }));
  }

  /** A session-era session (2025-11-25, raw HTTP): a caller of its requests, and its headers. */
  async function openSession(server: string, token: string) {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: TASKS_CAPS, clientInfo: { name: 'raw', version: '1' } },
    };
    const res = await raw(
      h.unix(server),
      'POST',
      { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      JSON.stringify(init),
    );
    const headers = {
      ...JSON_HEADERS,
      authorization: `Bearer ${token}`,
      'mcp-session-id': res.headers['mcp-session-id'] as string,
      'mcp-protocol-version': '2025-11-25',
    };
    await raw(h.unix(server), 'POST', headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    const call = async (id: number, method: string, params: Record<string, unknown>) =>
      answerIn(
        (await raw(h.unix(server), 'POST', headers, JSON.stringify({ jsonrpc: '2.0', id, method, params }))).body,
      );
    return { call, headers };
  }

  async function statusOf(token: string, taskId: string): Promise<unknown> {
    return (await post('tasks', token, 9, 'tasks/get', { taskId })).message.result?.status;
  }

  it('offers the tasks extension at server/discover only when the child has it', async () => {
    const tasks = await modernClient(h, 'tasks', await h.token('tasks', ALICE));
    const plain = await modernClient(h, 'plain', await h.token('plain', ALICE));
    try {
      assert.deepEqual(tasks.getServerCapabilities()?.extensions, { [EXTENSION]: {} });
      assert.equal(plain.getServerCapabilities()?.extensions, undefined);
    } finally {
      await tasks.close();
      await plain.close();
    }
  });

  it("runs a task through the SDK client: input request, update, result, each step in the owner's audit log", async () => {
    const token = await h.token('tasks', ALICE);
    const client: Client = await modernClient(h, 'tasks', token, undefined, TASKS_CAPS);
    try {
      // The SDK's client cannot read `resultType: "task"` (no task runtime in the v2 SDK): the call is made by hand.
      const taskId = await newTask('tasks', token, { question: 'the-question' });
      const waiting = await client.request({ method: 'tasks/get', params: { taskId } }, anyResult);
      assert.equal(waiting['status'], 'input_required');
      assert.ok((waiting['inputRequests'] as Record<string, unknown>)['answer']);
      const reply = { answer: { action: 'accept', content: { answer: 'the-answer' } } };
      await client.request({ method: 'tasks/update', params: { taskId, inputResponses: reply } }, anyResult);
      const done = await client.request({ method: 'tasks/get', params: { taskId } }, anyResult);
      assert.equal(done['status'], 'completed');
      assert.deepEqual(done['result'], { content: [{ type: 'text', text: 'answered: the-answer' }] });

      const lines = h.audit().filter((l) => l['task'] === taskId && String(l['event']).startsWith('task.'));
      assert.deepEqual(
        lines.map((l) => [l['event'], l['status'], l['tool'], l['user']]),
        [
          ['task.created', 'working', 'job', 'alice@example.com'],
          ['task.status', 'input_required', 'job', 'alice@example.com'],
          ['task.completed', 'completed', 'job', 'alice@example.com'],
        ],
      );
      const text = JSON.stringify(h.audit());
      assert.ok(!text.includes('the-question') && !text.includes('the-answer'), 'no argument, input or result');
    } finally {
      await client.close();
    }
  });

  it("ends a cancelled task's lifecycle with a task.cancelled line", async () => {
    const alice = await h.token('tasks', ALICE);
    const taskId = await newTask('tasks', alice);
    await post('tasks', alice, 2, 'tasks/cancel', { taskId });
    assert.equal(await statusOf(alice, taskId), 'cancelled');
    const lines = h.audit().filter((l) => l['task'] === taskId && String(l['event']).startsWith('task.'));
    assert.deepEqual(
      lines.map((l) => [l['event'], l['status'], l['user']]),
      [
        ['task.created', 'working', 'alice@example.com'],
        ['task.cancelled', 'cancelled', 'alice@example.com'],
      ],
    );
  });

  it("refuses another person's task exactly like an unknown one, without reaching the child", async () => {
    const alice = await h.token('tasks', ALICE);
    const bob = await h.token('tasks', BOB);
    const taskId = await newTask('tasks', alice);
    assert.equal(await statusOf(alice, taskId), 'input_required');
    const guessed = await probe('tasks', bob, taskId);
    const unknown = await probe('tasks', bob, randomUUID());
    assert.deepEqual(guessed, unknown, 'the same status and bytes as for an id nobody issued');
    assert.equal(JSON.parse(guessed[0]!.text).error?.code, -32602);
    assert.equal(JSON.parse(guessed[0]!.text).error?.message, 'Task not found');
    assert.equal(await statusOf(alice, taskId), 'input_required', "bob's update and cancel never reached the task");
    const refused = h.audit().filter((l) => l['event'] === 'denied' && l['task'] === taskId);
    assert.deepEqual(
      refused.map((l) => [l['user'], l['method']]),
      [
        ['bob@example.com', 'tasks/get'],
        ['bob@example.com', 'tasks/update'],
        ['bob@example.com', 'tasks/cancel'],
      ],
    );
  });

  it("refuses a task to the same person's token for another server, and to another child of the same server", async () => {
    const alice = await h.token('tasks', ALICE);
    const taskId = await newTask('tasks', alice);
    const jobs = await h.token('jobs', ALICE);
    assert.deepEqual(await probe('jobs', jobs, taskId), await probe('jobs', jobs, randomUUID()));
    // The pooled child that created it ends (evicted, idle, crashed): the person's next child never had it.
    const pooled = h.daemon.sessions.all().find((s) => s.server.name === 'tasks' && s.owner.user === ALICE.user)!;
    await pooled.end('test');
    assert.deepEqual(await probe('tasks', alice, taskId), await probe('tasks', alice, randomUUID()));
  });

  it("passes a task's update through the tool gate again, with the token and policy of the update", async () => {
    const alice = await h.token('tasks', ALICE);
    const taskId = await newTask('tasks', alice);
    const narrower = await h.token('tasks', { ...ALICE, scope: 'tools:echo' });
    const update = { taskId, inputResponses: { answer: { action: 'accept', content: { answer: 'x' } } } };
    const refused = await post('tasks', narrower, 3, 'tasks/update', update);
    assert.equal(refused.message.error?.code, DENIED, refused.text);
    assert.equal(await statusOf(alice, taskId), 'input_required', 'the refused update never reached the task');
    assert.ok(h.audit().some((l) => l['event'] === 'denied' && l['method'] === 'tasks/update' && l['tool'] === 'job'));
  });

  it('forgets a task when its ttl is over: then it is an unknown task', async () => {
    const alice = await h.token('tasks', ALICE);
    const taskId = await newTask('tasks', alice, { ttlMs: 0 });
    assert.deepEqual(await probe('tasks', alice, taskId), await probe('tasks', alice, randomUUID()));
  });

  it('binds a session-era client\'s task to its session: another person\'s session gets "Task not found"', async () => {
    const alice = (await openSession('tasks', await h.token('tasks', ALICE))).call;
    const bob = (await openSession('tasks', await h.token('tasks', BOB))).call;
    // 2025-11-25 tasks: a task-augmented call gets a CreateTaskResult (`task`).
    const created = await alice(2, 'tools/call', { name: 'job', arguments: {}, task: { ttl: 60_000 } });
    const taskId = created.result?.task?.taskId as string;
    assert.ok(taskId, JSON.stringify(created));
    assert.equal((await alice(3, 'tasks/get', { taskId })).result?.status, 'input_required');
    const guessed = await bob(3, 'tasks/get', { taskId });
    assert.deepEqual(guessed, await bob(3, 'tasks/get', { taskId: randomUUID() }));
    assert.deepEqual(guessed.error, { code: -32602, message: 'Task not found' });
    for (const method of ['tasks/result', 'tasks/cancel', 'tasks/update'])
      assert.deepEqual(await bob(4, method, { taskId }), await bob(4, method, { taskId: randomUUID() }), method);
    assert.equal((await alice(5, 'tasks/get', { taskId })).result?.status, 'input_required');
    // tasks/list: the child lists every task of its store; each person sees their own.
    const own = (await bob(6, 'tools/call', { name: 'job', arguments: {}, task: {} })).result?.task?.taskId;
    const listed = async (call: typeof bob) =>
      ((await call(7, 'tasks/list', {})).result?.tasks as Array<{ taskId: string }>).map((t) => t.taskId);
    assert.deepEqual(await listed(bob), [own]);
    assert.ok((await listed(alice)).includes(taskId) && !(await listed(alice)).includes(own));
    await alice(8, 'tasks/update', {
      taskId,
      inputResponses: { answer: { action: 'accept', content: { answer: 'a' } } },
    });
    assert.deepEqual((await alice(9, 'tasks/result', { taskId })).result, {
      content: [{ type: 'text', text: 'answered: a' }],
    });
  });
  it("sends a task's status notifications only to its owner's GET stream", async () => {
    const bob = await openSession('watch', await h.token('watch', BOB));
    const stream = await request('http://localhost/mcp', {
      method: 'GET',
      headers: { ...bob.headers, host: 'localhost', accept: 'text/event-stream' },
      dispatcher: h.unix('watch'),
    });
    assert.equal(stream.statusCode, 200);
    const events = sseEvents(stream.body);
    const alice = (await openSession('watch', await h.token('watch', ALICE))).call;
    const answer = { answer: { action: 'accept', content: { answer: 'a' } } };
    const theirs = (await alice(2, 'tools/call', { name: 'job', arguments: {}, task: {} })).result.task.taskId;
    await alice(3, 'tasks/update', { taskId: theirs, inputResponses: answer });
    const own = (await bob.call(2, 'tools/call', { name: 'job', arguments: {}, task: {} })).result.task.taskId;
    await bob.call(3, 'tasks/update', { taskId: own, inputResponses: answer });
    // The child sends every change oldest first: by its last status of bob's task, alice's were all sent too.
    const heard: Array<[string, string]> = [];
    for await (const event of events) {
      const { method, params } = JSON.parse((event as SseEvent).data);
      if (method !== 'notifications/tasks/status') continue;
      heard.push([params.taskId === own ? 'own' : params.taskId === theirs ? 'theirs' : 'other', params.status]);
      if (params.taskId === own && params.status === 'completed') break;
    }
    stream.body.destroy();
    // Two quick writes may reach the child's watch as one: which of bob's statuses it sent varies, never whose.
    assert.deepEqual(
      heard.filter(([whose]) => whose !== 'own'),
      [],
      "alice's task is not bob's to hear of",
    );
    assert.deepEqual(heard.at(-1), ['own', 'completed']);
  });

  it("binds a 2026-07-28 client's task on a 2025-11-25 child to the person's pooled child", async () => {
    const alice = await h.token('watch', ALICE);
    const bob = await h.token('watch', BOB);
    const created = await post('watch', alice, 1, 'tools/call', { name: 'job', arguments: {}, task: {} });
    const taskId = created.message.result?.task?.taskId as string;
    assert.ok(taskId, created.text);
    assert.equal((await post('watch', alice, 2, 'tasks/get', { taskId })).message.result?.status, 'input_required');
    assert.deepEqual(await probe('watch', bob, taskId), await probe('watch', bob, randomUUID()));
    // Other client capabilities, another pooled child of alice's (what the daemon declares to a 2025 child differs).
    const other = { ...TASKS_CAPS, sampling: {} };
    const guessed = await post('watch', alice, 3, 'tasks/get', { taskId }, other);
    assert.deepEqual(guessed.text, (await post('watch', alice, 3, 'tasks/get', { taskId: randomUUID() }, other)).text);
    assert.equal(guessed.message.error?.message, 'Task not found');
    const pooled = h.daemon.sessions.all().filter((s) => s.server.name === 'watch' && s.owner.user === ALICE.user);
    assert.equal(pooled.filter((s) => s.era === 'stateless').length, 2, 'two pooled children of alice');
  });

  it('on_tool_change = "deny_server": a tainted child answers no tasks/get, result or update; a cancel still reaches it', async () => {
    const pinned = await gatekit(['tools', 'pin', 'pinned', '--config', h.ws.config], { timeoutMs: 60_000 });
    assert.equal(pinned.code, 0, pinned.stderr);
    await h.daemon.reload();
    const alice = (await openSession('pinned', await h.token('pinned', ALICE))).call;
    const created = await alice(2, 'tools/call', { name: 'job', arguments: {}, task: { ttl: 60_000 } });
    const taskId = created.result?.task?.taskId as string;
    assert.ok(taskId, JSON.stringify(created));
    assert.equal((await alice(3, 'tasks/get', { taskId })).result?.status, 'input_required');
    // The rug pull, as the daemon sees it: the server's `echo` no longer matches its pin; the next list taints.
    const lock = join(h.ws.dir, 'gatekit.lock');
    const text = readFileSync(lock, 'utf8');
    const pins = JSON.parse(text) as { servers: Record<string, { tools: Record<string, { fingerprint: string }> }> };
    pins.servers['pinned']!.tools['echo']!.fingerprint = `sha256:${'A'.repeat(43)}`;
    writeFileSync(lock, JSON.stringify(pins));
    try {
      await h.daemon.reload();
      const listed = (await alice(4, 'tools/list', {})).result?.tools as Array<{ name: string }>;
      assert.deepEqual(listed.map((t) => t.name).sort(), ['job']);
      const update = { taskId, inputResponses: { answer: { action: 'accept', content: { answer: 'a' } } } };
      for (const [method, params] of [
        ['tasks/get', { taskId }],
        ['tasks/result', { taskId }],
        ['tasks/update', update],
      ] as const) {
        const refused = await alice(5, method, params);
        assert.deepEqual([refused.error?.code, refused.error?.data?.rule], [DENIED, 'servers.pinned.pins'], method);
      }
      assert.equal((await alice(6, 'tasks/cancel', { taskId })).error, undefined);
      const denied = h.audit().filter((l) => l['event'] === 'denied' && l['rule'] === 'servers.pinned.pins');
      assert.deepEqual(denied.map((l) => l['method']).sort(), ['tasks/get', 'tasks/result', 'tasks/update']);
    } finally {
      writeFileSync(lock, text);
    }
  });

  it('remembers at most 256 tasks per child: the oldest is forgotten first, then unknown', async () => {
    const alice = await h.token('jobs', ALICE);
    const first = await newTask('jobs', alice);
    let last = first;
    for (let i = 0; i < 256; i++) last = await newTask('jobs', alice);
    assert.deepEqual(await probe('jobs', alice, first), await probe('jobs', alice, randomUUID()));
    assert.equal(
      (await post('jobs', alice, 2, 'tasks/get', { taskId: last })).message.result?.status,
      'input_required',
    );
  });
});
