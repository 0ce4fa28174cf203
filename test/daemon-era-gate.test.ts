import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { daemonConfig, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { ENVELOPE, modernBody, modernHeaders } from './helpers/modern-client.js';
import { policyChecker, recordFile, recorderServers, type Recorded } from './helpers/recorder.js';

const SESSION_VERSIONS = ['2024-10-07', '2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
const BATCH_VERSIONS = new Set(['2024-10-07', '2024-11-05', '2025-03-26']);
const DENIED = -32003;
const rpc = (id: number, method: string, params?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params ? { params } : {}),
});
const forbidden = (id: number, v: string) =>
  rpc(id, 'tools/call', { name: 'write_note', arguments: { name: `probe-${v}`, text: 'x' } });

describe('daemon: one policy gate below version dispatch', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('one forbidden tools/call in every version and shape is refused and never reaches a child', async () => {
    const token = await h.token('notes');
    const post = (headers: Record<string, string>, body: unknown) =>
      raw(h.unix('notes'), 'POST', headers, JSON.stringify(body));
    let probes = 0;
    for (const v of SESSION_VERSIONS) {
      const init = await post(
        { ...JSON_HEADERS, authorization: `Bearer ${token}` },
        rpc(1, 'initialize', { protocolVersion: v, capabilities: {}, clientInfo: { name: 'probe', version: '1' } }),
      );
      assert.equal(init.status, 200, v);
      const headers = {
        ...JSON_HEADERS,
        authorization: `Bearer ${token}`,
        'mcp-session-id': String(init.headers['mcp-session-id']),
        'mcp-protocol-version': v,
      };
      assert.equal((await post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
      const single = await post(headers, forbidden(2, v));
      assert.equal(JSON.parse(single.body).error.code, DENIED, `${v} single`);
      probes++;
      const batch = await post(headers, [
        rpc(3, 'tools/call', { name: 'echo', arguments: { message: 'ok' } }),
        forbidden(4, v),
      ]);
      if (BATCH_VERSIONS.has(v)) {
        const answers = JSON.parse(batch.body) as Array<{ id: number; error?: { code: number }; result?: unknown }>;
        assert.equal(answers.find((a) => a.id === 4)!.error!.code, DENIED, `${v} batch`);
        assert.ok(answers.find((a) => a.id === 3)!.result, `${v}: the allowed element of the batch still runs`);
        probes++;
      } else {
        assert.equal(batch.status, 400, `${v}: no batches`);
      }
      const notes = JSON.parse((await post(headers, rpc(5, 'tools/call', { name: 'list_notes', arguments: {} }))).body);
      assert.doesNotMatch(notes.result.content[0].text, /probe/, v);
    }
    const stateless = (method: string, body: string, name?: string) =>
      raw(h.unix('notes'), 'POST', modernHeaders(token, method, name), body);
    const refused = await stateless(
      'tools/call',
      modernBody(6, 'tools/call', forbidden(0, 'modern').params),
      'write_note',
    );
    assert.equal(refused.status, 200);
    assert.equal(JSON.parse(refused.body).error.code, DENIED, 'stateless single');
    probes++;
    const smuggled = await stateless(
      'tools/call',
      modernBody(7, 'tools/call', { name: ['write_note'], arguments: {} }),
    );
    assert.equal(JSON.parse(smuggled.body).error.code, DENIED, 'a tool name that is not a string');
    probes++;
    const modernBatch = `[${modernBody(8, 'tools/call', forbidden(0, 'batch').params)}]`;
    const versioned = { ...JSON_HEADERS, authorization: `Bearer ${token}`, 'mcp-protocol-version': '2026-07-28' };
    assert.equal((await raw(h.unix('notes'), 'POST', versioned, modernBatch)).status, 400);
    assert.equal(
      (await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, modernBatch)).status,
      400,
      'a batch with a 2026-07-28 element is refused, not served as session-era',
    );
    const listed = await stateless(
      'tools/call',
      modernBody(9, 'tools/call', { name: 'list_notes', arguments: {} }),
      'list_notes',
    );
    assert.doesNotMatch(JSON.parse(listed.body).result.content[0].text, /probe/);

    const audit = h.audit();
    assert.equal(
      audit.filter((l) => l['event'] === 'denied' && l['outcome'] === 'denied' && l['method'] === 'tools/call').length,
      probes,
    );
    assert.deepEqual(
      audit.filter((l) => l['event'] === 'request' && l['tool'] === 'write_note'),
      [],
      'nothing forwarded',
    );
    const eras = new Set(audit.filter((l) => l['event'] === 'denied').map((l) => l['era']));
    assert.deepEqual([...eras].sort(), ['session', 'stateless']);
  });

  it('resources/*, prompts/* and unknown methods are forwarded once the person is admitted', async () => {
    const token = await h.token('notes');
    for (const method of ['resources/list', 'prompts/get', 'no/such-method']) {
      const name = method === 'prompts/get' ? 'p' : undefined;
      const res = await raw(
        h.unix('notes'),
        'POST',
        modernHeaders(token, method, name),
        modernBody(20, method, name ? { name } : {}),
      );
      assert.equal(
        JSON.parse(res.body).error.code,
        -32601,
        `${method}: the notes fixture has none, and says so itself`,
      );
    }
    const outsider = await h.token('notes', { user: 'mallory@example.com' });
    const res = await raw(
      h.unix('notes'),
      'POST',
      modernHeaders(outsider, 'resources/list'),
      modernBody(21, 'resources/list'),
    );
    assert.equal(res.status, 403, 'admission comes first, in every era');
  });
});

describe('daemon: no message reaches a child unless the gate admitted it (recording children)', () => {
  let h: Harness;
  let rec: ReturnType<typeof recordFile>;
  let token: string;
  const check = policyChecker();
  before(async () => {
    rec = recordFile();
    h = await startHarness(await daemonConfig(recorderServers(rec.file)));
    token = await h.token('rec');
  });
  after(async () => {
    await h.close();
    rec.remove();
  });

  const post = (server: string, headers: Record<string, string>, body: unknown) =>
    raw(h.unix(server), 'POST', headers, typeof body === 'string' ? body : JSON.stringify(body));
  let syncs = 0;
  /** A session-era session on `server`, initialized; its child has asked `roots/list` once it answered `ping`. */
  async function session(server: string, version = '2025-06-18') {
    const tok = await h.token(server);
    const init = await post(
      server,
      { ...JSON_HEADERS, authorization: `Bearer ${tok}` },
      rpc(1, 'initialize', { protocolVersion: version, capabilities: {}, clientInfo: { name: 'gate', version: '1' } }),
    );
    assert.equal(init.status, 200);
    const headers = {
      ...JSON_HEADERS,
      authorization: `Bearer ${tok}`,
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': version,
    };
    assert.equal((await post(server, headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
    const send = (body: unknown) => post(server, headers, body);
    // The child reads in order: once it answered this, it has read everything sent before.
    const sync = async () => assert.equal((await send(rpc(9000 + ++syncs, 'ping'))).status, 200);
    await sync();
    return { send, sync };
  }
  const stateless = (server: string, method: string, body: unknown, name?: string) =>
    post(server, modernHeaders(token, method, name), body);
  const statelessSync = async (server: string) =>
    assert.equal((await stateless(server, 'tools/list', modernBody(9999, 'tools/list'))).status, 200);
  /** What the children read since the last look, checked against the policy. */
  function seen(): Recorded[] {
    const records = rec.next();
    assert.deepEqual(check(records), [], 'every line a child read is one the policy admits');
    return records;
  }
  const lines = (records: Recorded[]) =>
    records.filter((r) => r.in !== undefined).map((r) => JSON.parse(r.in!) as Record<string, any>);
  const notice = (params: Record<string, unknown>) => ({ jsonrpc: '2.0', method: 'tools/call', params });

  it('a tools/call without an id never reaches a child: session era, a 2025-03-26 batch, a pooled 2026-07-28 child', async () => {
    const s = await session('rec');
    for (const name of ['secret', 'echo']) {
      const res = await s.send(notice({ name, arguments: { text: 'hi' } }));
      assert.equal(res.status, 400, `a notification tools/call of ${name}`);
      assert.equal(JSON.parse(res.body).error.code, -32600);
    }
    const batched = await session('rec', '2025-03-26');
    const batch = await batched.send([
      rpc(2, 'tools/call', { name: 'echo', arguments: { text: 'batch' } }),
      notice({ name: 'secret', arguments: {} }),
    ]);
    assert.equal(batch.status, 400, 'a batch with a refused notification is refused whole');
    assert.equal(JSON.parse(batch.body).error.code, -32600);
    const pooled = await stateless(
      'rec',
      'tools/call',
      { ...notice({ name: 'secret', arguments: {}, _meta: ENVELOPE }) },
      'secret',
    );
    assert.equal(pooled.status, 400, 'a 2026-07-28 notification tools/call');
    await s.sync();
    await batched.sync();
    await statelessSync('rec');
    const read = lines(seen());
    assert.deepEqual(
      read.filter((m) => m['method'] === 'tools/call' && m['params']?.['name'] !== undefined),
      [],
      'no tools/call reached a child, not even the allowed call in the refused batch',
    );
    const denied = h
      .audit()
      .filter((l) => l['event'] === 'denied' && l['method'] === 'tools/call' && l['rpc_code'] === -32600);
    assert.deepEqual(
      denied.map((l) => [l['tool'], l['era']]),
      [
        ['secret', 'session'],
        ['echo', 'session'],
        ['secret', 'session'],
        ['secret', 'stateless'],
      ],
    );
    assert.ok(
      !h.audit().some((l) => l['event'] === 'request' && l['method'] === 'tools/call' && l['rpc_id'] === undefined),
      'no line says a notification tools/call went through',
    );
  });

  it("a client's own _meta gatekit keys never reach a child; identity_meta's come from the daemon, after", async () => {
    const forged = { 'gatekit/user': 'root@example.com', 'GateKit/Sub': 'root', 'gatekit/extra': 1, progressToken: 7 };
    for (const server of ['rec', 'rec_id']) {
      const s = await session(server);
      const call = await s.send(rpc(3, 'tools/call', { name: 'echo', arguments: { text: 'm' }, _meta: forged }));
      assert.equal(call.status, 200);
      await s.send({
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 1, progress: 1, _meta: forged },
      });
      await s.sync();
    }
    const modern = await stateless(
      'rec',
      'tools/call',
      modernBody(4, 'tools/call', { name: 'echo', arguments: { text: 'm' } }).replace(
        '"_meta":{',
        '"_meta":{"gatekit/user":"root@example.com",',
      ),
      'echo',
    );
    assert.equal(modern.status, 200);
    const read = lines(seen()).filter(
      (m) =>
        m['params']?.['_meta']?.['progressToken'] !== undefined ||
        m['method'] === 'notifications/progress' ||
        m['params']?.['name'] === 'echo',
    );
    assert.equal(read.length, 5, 'two calls, two progress notifications and the 2026-07-28 call reached the children');
    for (const m of read) {
      const meta = m['params']['_meta'] as Record<string, unknown>;
      for (const key of ['GateKit/Sub', 'gatekit/extra']) assert.equal(meta[key], undefined, key);
      assert.notEqual(meta['gatekit/user'], 'root@example.com');
    }
    assert.ok(
      read.some((m) => m['params']['_meta']['gatekit/user'] === 'alice@example.com'),
      "rec_id: the daemon's identity",
    );
    assert.ok(
      read.some((m) => m['params']['_meta']['progressToken'] === 7),
      'other _meta keys stay',
    );
  });

  it('arguments nested 20,000 deep: a JSON-RPC error and a denied line in every era; the daemon stays up', async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const call = (id: number, name: string, meta = '') =>
      `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${deep}${meta}}}`;
    const s = await session('rec');
    for (const [id, name] of [
      [5, 'echo'],
      [6, 'secret'],
    ] as const) {
      const res = await s.send(call(id, name));
      assert.equal(res.status, 200, name);
      assert.deepEqual(JSON.parse(res.body).error.code, -32602, name);
    }
    const asNotice = await s.send(
      `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"x":${deep}}}`,
    );
    assert.equal(asNotice.status, 400);
    const modern = await stateless(
      'rec',
      'tools/call',
      call(7, 'echo', `,"_meta":${JSON.stringify(ENVELOPE)}`),
      'echo',
    );
    assert.equal(modern.status, 200);
    assert.equal(JSON.parse(modern.body).error.code, -32602);
    // Found by test/gate-property.test.ts: a request's extra top-level member went to the child whole (a 500 here).
    const extra = await s.send(`{"jsonrpc":"2.0","id":9,"method":"ping","result":${deep}}`);
    assert.equal(extra.status, 200);
    assert.deepEqual(JSON.parse(extra.body).result, {}, 'the child answered the ping without its extra member');
    const health = await raw(h.unix('rec'), 'GET', {}, undefined, '/healthz');
    assert.equal(health.status, 200, 'the daemon is up');
    const fine = await s.send(rpc(8, 'tools/call', { name: 'echo', arguments: { text: 'still' } }));
    assert.equal(JSON.parse(fine.body).result.content[0].text, 'called echo');
    const pings = lines(seen()).filter((m) => m['method'] === 'ping' && m['params']?.['_meta']?.['traceparent']);
    assert.ok(
      pings.every((m) => !('result' in m)),
      'only JSON-RPC members reach a child',
    );
    const denied = h.audit().filter((l) => l['event'] === 'denied' && l['rpc_code'] === -32602);
    assert.deepEqual(
      denied.map((l) => [l['method'], l['rpc_id'], l['era']]),
      [
        ['tools/call', 5, 'session'],
        ['tools/call', 6, 'session'],
        ['notifications/progress', undefined, 'session'],
        ['tools/call', 7, 'stateless'],
      ],
    );
  });

  it('a response reaches a child only as the answer to a request it sent, once', async () => {
    const s = await session('rec');
    const stray = await s.send({ jsonrpc: '2.0', id: 'never-asked', result: {} });
    assert.equal(stray.status, 400);
    const answer = { jsonrpc: '2.0', id: 'rec-ask', result: { roots: [], _meta: { 'gatekit/user': 'root' } } };
    assert.equal((await s.send(answer)).status, 202, "the answer to the child's roots/list");
    assert.equal((await s.send(answer)).status, 400, 'answered once');
    const modern = await stateless('rec', 'tools/call', { jsonrpc: '2.0', id: 'rec-ask', result: {} });
    assert.equal(modern.status, 400, 'a 2026-07-28 client answers in a retry, never with a response');
    await s.sync();
    await statelessSync('rec');
    const responses = lines(seen()).filter((m) => m['method'] === undefined);
    assert.deepEqual(responses, [{ jsonrpc: '2.0', id: 'rec-ask', result: { roots: [], _meta: {} } }]);
  });

  it('a spelling of an MCP method never reaches a child; an extension method does', async () => {
    const s = await session('rec');
    const spellings = [
      'Tools/Call',
      'tools/call ',
      'tools.call',
      'TOOLS/CALL',
      'tools/\u0441all',
      'notifications/tools/call',
      'roots/list',
    ];
    for (const [i, method] of spellings.entries()) {
      const res = await s.send(rpc(20 + i, method, { name: 'secret', arguments: {} }));
      assert.equal(res.status, 200, method);
      assert.equal(JSON.parse(res.body).error.code, -32601, JSON.stringify(method));
    }
    const extension = await s.send(rpc(40, 'x-vendor/report', {}));
    assert.equal(JSON.parse(extension.body).error.code, -32601, 'the child itself answers an extension it lacks');
    await s.sync();
    const methods = lines(seen()).map((m) => m['method']);
    assert.ok(methods.includes('x-vendor/report'));
    for (const method of spellings) assert.ok(!methods.includes(method), method);
  });
});
