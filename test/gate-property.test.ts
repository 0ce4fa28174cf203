import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { daemonConfig, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { ENVELOPE, MODERN } from './helpers/modern-client.js';
import { policyChecker, recordFile, recorderServers } from './helpers/recorder.js';

/**
 * The property of issue 21 item 2: whatever a client sends — any JSON-RPC shape, batch, era, id, method spelling,
 * params and `_meta` — a child reads only what the policy admits (test/helpers/recorder.ts `policyChecker`), and
 * the daemon never answers 500. One daemon for every run, a fresh session (or the person's pooled child) per case.
 * Seeded: GATE_PROPERTY_SEED and GATE_PROPERTY_RUNS override; a failure prints the seed and the counterexample.
 */
const SEED = Number(process.env['GATE_PROPERTY_SEED'] ?? 2026_12_07);
const RUNS = Number(process.env['GATE_PROPERTY_RUNS'] ?? 80);

/** Placeholders for JSON too deep to build as a value (JSON.stringify and fast-check's printer recurse). */
const deepText = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const DEEP = [40, 66, 20_000].map((levels) => `@@deep-${levels}@@`);
const serialize = (value: unknown) =>
  JSON.stringify(value).replace(/"@@deep-(\d+)@@"/g, (_, levels: string) => deepText(Number(levels)));

const METHODS = [
  'tools/call',
  'tools/call',
  'Tools/Call',
  'tools/call ',
  ' tools/call',
  'TOOLS/CALL',
  'tools.call',
  'tools/\u0441all',
  'tools\uff0fcall',
  'notifications/tools/call',
  'tools/list',
  'Tools/List',
  'ping',
  'prompts/list',
  'resources/read',
  'x-vendor/report',
  'roots/list',
  'sampling/createMessage',
  'initialize',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'Notifications/Cancelled',
  'notifications/message',
];
const id = fc.oneof(
  fc.constantFrom(1, 2, 'a', 'rec-ask', 0, null, 1.5, true),
  fc.integer({ min: -3, max: 3 }),
  fc.string({ maxLength: 3 }),
);
const tool = fc.oneof(
  { arbitrary: fc.constant('echo'), weight: 4 },
  { arbitrary: fc.constantFrom('secret', 'fresh', 'limited', 'write_note', 'Echo', 'echo '), weight: 3 },
  { arbitrary: fc.constantFrom(['echo'], 42, null), weight: 1 },
);
const args = fc.oneof(
  { arbitrary: fc.record({ text: fc.string({ maxLength: 13 }) }), weight: 4 },
  { arbitrary: fc.constantFrom({}, 'text', null, ...DEEP), weight: 2 },
  { arbitrary: fc.record({ text: fc.constantFrom(...DEEP) }), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
);
const META_KEYS = ['gatekit/user', 'gatekit/sub', 'GATEKIT/groups', 'Gatekit/extra', 'gatekit', 'progressToken', 'x'];
const meta = fc.oneof(
  {
    arbitrary: fc.dictionary(
      fc.constantFrom(...META_KEYS),
      fc.oneof(
        { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 4 },
        { arbitrary: fc.constantFrom(...DEEP), weight: 1 },
      ),
      { maxKeys: 3 },
    ),
    weight: 4,
  },
  { arbitrary: fc.constantFrom('not an object', ENVELOPE), weight: 1 },
);
const params = fc.oneof(
  fc.record(
    {
      name: tool,
      arguments: args,
      _meta: meta,
      requestId: id,
      progressToken: fc.constantFrom(1, 'p'),
      progress: fc.constant(1),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom([], null, 'x'),
);
/** Anything JSON-RPC-like: any member present or not. */
const anything = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '2.0', '2.0', '2.0', '1.0'),
    id,
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 12 })),
    params,
    result: fc.oneof(fc.constantFrom({ roots: [] }, ...DEEP), fc.record({ _meta: meta })),
    error: fc.constant({ code: -1, message: 'no' }),
  },
  { requiredKeys: ['jsonrpc'] },
);
/** A well-formed call, with or without an id, of any tool, arguments, `_meta` and method spelling. */
const call = fc
  .record({
    id: fc.option(fc.constantFrom(1, 2, 'a', 'b'), { nil: undefined }),
    method: fc.constantFrom('tools/call', 'tools/call', 'tools/call', 'Tools/Call', 'tools/call ', 'tools/\u0441all'),
    params: fc.record({ name: tool, arguments: args, _meta: meta }, { requiredKeys: ['name', 'arguments'] }),
  })
  .map(({ id, ...rest }) => ({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), ...rest }));
/** A well-formed notification or response, as a client may or may not send it. */
const notice = fc.oneof(
  fc.record({
    jsonrpc: fc.constant('2.0'),
    method: fc.constantFrom(...METHODS.filter((m) => m.startsWith('notifications') || m.startsWith('N'))),
    params: fc.record({ requestId: id, progressToken: fc.constantFrom(1, 'p'), _meta: meta }, { requiredKeys: [] }),
  }),
  fc.record({
    jsonrpc: fc.constant('2.0'),
    id: fc.constantFrom('rec-ask', 'rec-ask', 1, 'gatekit/probe'),
    result: fc.oneof(fc.constantFrom({ roots: [] }, ...DEEP), fc.record({ roots: fc.constant([]), _meta: meta })),
  }),
);
const message = fc.oneof(
  { arbitrary: call, weight: 3 },
  { arbitrary: notice, weight: 2 },
  { arbitrary: anything, weight: 2 },
);
const testCase = fc.record({
  era: fc.constantFrom('session', 'session', 'stateless'),
  server: fc.constantFrom('rec', 'rec_id'),
  sub: fc.constantFrom('sub-p0', 'sub-p1', 'sub-p2'),
  version: fc.constantFrom('2025-06-18', '2025-03-26'),
  batch: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
  /** 2026-07-28: the `_meta` envelope merged into each message's params, and Mcp-Method/Mcp-Name sent. */
  envelope: fc.boolean(),
  headers: fc.boolean(),
  messages: fc.array(message, { minLength: 1, maxLength: 4 }),
});
type Case = typeof testCase extends fc.Arbitrary<infer T> ? T : never;

const headerSafe = (v: unknown): v is string => typeof v === 'string' && /^[\x21-\x7e]+$/.test(v);
const withEnvelope = (m: Record<string, any>) => {
  const p = m['params'];
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return m;
  const own = typeof p['_meta'] === 'object' && p['_meta'] !== null ? p['_meta'] : {};
  return { ...m, params: { ...p, _meta: { ...own, ...ENVELOPE } } };
};

describe('property: a child reads only what the policy admits (fast-check, a real daemon, recording children)', () => {
  let h: Harness;
  let rec: ReturnType<typeof recordFile>;
  before(async () => {
    rec = recordFile();
    h = await startHarness(await daemonConfig(recorderServers(rec.file)));
  });
  after(async () => {
    await h.close();
    rec.remove();
  });

  it(`${RUNS} generated cases, seed ${SEED}`, async () => {
    const check = policyChecker();
    let syncs = 0;
    const statuses = new Set<number>();

    async function send(c: Case): Promise<void> {
      const token = await h.token(c.server, { sub: c.sub });
      const post = (headers: Record<string, string>, body: string) => raw(h.unix(c.server), 'POST', headers, body);
      const auth = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
      const answered = (status: number, what: string) => {
        statuses.add(status);
        assert.ok(status < 500, `${what}: HTTP ${status}`);
      };
      if (c.era === 'session') {
        const init = await post(
          auth,
          serialize({
            jsonrpc: '2.0',
            id: 0,
            method: 'initialize',
            params: {
              protocolVersion: c.version,
              capabilities: { roots: {} },
              clientInfo: { name: 'p', version: '1' },
            },
          }),
        );
        assert.equal(init.status, 200, init.body);
        const headers = {
          ...auth,
          'mcp-session-id': String(init.headers['mcp-session-id']),
          'mcp-protocol-version': c.version,
        };
        assert.equal((await post(headers, '{"jsonrpc":"2.0","method":"notifications/initialized"}')).status, 202);
        // Once the child answered a ping it has asked its roots/list (fixtures/servers/recorder.ts): "rec-ask" is live.
        const sync = async () => {
          const id = `s${++syncs}`;
          const res = await post(headers, serialize({ jsonrpc: '2.0', id, method: 'ping' }));
          assert.ok(res.body.includes(`"id":"${id}","result":{}`), `the child answered the ping: ${res.body}`);
        };
        await sync();
        const bodies = c.batch ? [`[${c.messages.map(serialize).join(',')}]`] : c.messages.map(serialize);
        for (const body of bodies) answered((await post(headers, body)).status, body.slice(0, 200));
        await sync();
        assert.equal((await raw(h.unix(c.server), 'DELETE', headers)).status, 204);
        return;
      }
      const messages = c.envelope ? c.messages.map(withEnvelope) : c.messages;
      const modern = (m: Record<string, any>) => ({
        ...auth,
        'mcp-protocol-version': MODERN,
        ...(c.headers && headerSafe(m['method']) ? { 'mcp-method': m['method'] } : {}),
        ...(c.headers && headerSafe(m['params']?.['name']) ? { 'mcp-name': m['params']['name'] } : {}),
      });
      if (c.batch) {
        const body = `[${messages.map(serialize).join(',')}]`;
        answered((await post(modern(messages[0]!), body)).status, body.slice(0, 200));
      } else {
        for (const m of messages) answered((await post(modern(m), serialize(m))).status, serialize(m).slice(0, 200));
      }
      const list = { jsonrpc: '2.0', id: `s${++syncs}`, method: 'tools/list', params: { _meta: ENVELOPE } };
      const sync = await post({ ...modern(list), 'mcp-method': 'tools/list' }, serialize(list));
      assert.ok(sync.status === 200 && sync.body.includes('"tools":['), `the child answered tools/list: ${sync.body}`);
    }

    await fc.assert(
      fc.asyncProperty(testCase, async (c) => {
        await send(c);
        const broken = check(rec.next());
        assert.deepEqual(broken, [], 'a child read something the policy does not admit');
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
    const health = await raw(h.unix('rec'), 'GET', {}, undefined, '/healthz');
    assert.equal(health.status, 200);
    // The generator reached both sides of the gate: something was refused and something served.
    assert.ok(statuses.has(400) && (statuses.has(200) || statuses.has(202)), [...statuses].join(' '));
    const audit = h.audit();
    assert.ok(audit.some((l) => l['event'] === 'denied' && l['method'] === 'tools/call'));
    assert.ok(audit.some((l) => l['event'] === 'request' && l['tool'] === 'echo' && l['outcome'] === 'ok'));
  });
});
