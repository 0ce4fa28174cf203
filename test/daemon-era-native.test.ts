import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  daemonConfig,
  endSession,
  firstRpcMessage,
  raw,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { gates, type Gates } from './helpers/gated.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

const MODERN_SERVER = fileURLToPath(new URL('../fixtures/servers/modern-server.js', import.meta.url));
const CONFORMANCE_SERVER = fileURLToPath(new URL('../fixtures/conformance-server.js', import.meta.url));
const DEAF_SERVER = fileURLToPath(new URL('../fixtures/servers/modern-server-deaf.js', import.meta.url));
const DENIED = -32003;
const PEOPLE = ['alice@example.com', 'bob@example.com'];

type Text = { content: Array<{ text: string }> };
const textOf = (result: unknown) => (result as Text).content[0]!.text;
const codeOf = async (call: Promise<unknown>) => {
  const err = await call.then(
    () => undefined,
    (e: { code?: unknown }) => e,
  );
  assert.ok(err, 'the call was refused');
  return err.code;
};

// --modern-only: the fixture refuses every initialize, so any session-era handshake reaching it would fail.
const nativeServers = (dir: string) => `
[servers.modern]
command = ["${process.execPath}", "${MODERN_SERVER}", "--modern-only"]
allow_users = ${JSON.stringify(PEOPLE)}
tools = { allow = ["echo", "whoami"] }

[servers.sealed]
command = ["${process.execPath}", "${MODERN_SERVER}", "--modern-only"]
allow_users = ["alice@example.com"]
tools = { allow = ["nothing-here"] }

# Without --modern-only: speaks both eras (answers server/discover and accepts initialize).
[servers.dual]
command = ["${process.execPath}", "${MODERN_SERVER}"]
allow_users = ${JSON.stringify(PEOPLE)}
tools = { allow = ["echo", "whoami"] }

# Only 2026-07-28, with multi-round-trip tools: a session-era client gets their input requests as server requests.
[servers.rounds]
command = ["${process.execPath}", "${CONFORMANCE_SERVER}", "stdio", "--modern-only"]
allow_users = ["alice@example.com"]
tools = { allow = ["test_input_required_result_*"] }

[servers.deaf]
command = ["${process.execPath}", "${DEAF_SERVER}"]
allow_users = ["alice@example.com"]
env = { DEAF_DIR = "${dir}" }
`;

describe('daemon: a child that speaks MCP 2026-07-28 itself is spoken to natively', () => {
  let h: Harness;
  let g: Gates;
  before(async () => {
    g = gates();
    h = await startHarness(await daemonConfig(nativeServers(g.dir)));
  });
  after(async () => {
    await h.close();
    g.remove();
  });
  const children = (server: string) => h.daemon.sessions.all().filter((s) => s.server.name === server);

  it('a child that speaks both eras serves a session-era client in its own session era; a v2 client natively', async () => {
    const token = await h.token('dual');
    const legacy = await sdkClient(h, 'dual', token);
    const modern = await modernClient(h, 'dual', token);
    try {
      const seen = JSON.parse(textOf(await legacy.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(seen.envelope, null, 'the child got its own initialize: no 2026-07-28 envelope per request');
      const native = JSON.parse(textOf(await modern.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(
        native.envelope?.['io.modelcontextprotocol/protocolVersion'],
        '2026-07-28',
        'the pooled child: natively',
      );
      assert.equal(await codeOf(legacy.callTool({ name: 'secret', arguments: {} })), DENIED);
      assert.deepEqual(
        children('dual')
          .map((s) => [s.era, s.child.era])
          .sort(),
        [
          ['session', 'session'],
          ['stateless', 'native'],
        ],
      );
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });

  it("a session-era client in front of a 2026-07-28-only child answers the child's input requests itself", async () => {
    const legacy = await sdkClient(h, 'rounds', await h.token('rounds'));
    try {
      const sampled = await legacy.callTool({ name: 'test_input_required_result_sampling', arguments: {} });
      assert.equal(textOf(sampled), 'Sampling result: forty-two', "the v1 client's own sampling handler answered");
      const roots = await legacy.callTool({ name: 'test_input_required_result_list_roots', arguments: {} });
      assert.equal(textOf(roots), 'Found 1 root(s)');
      // The v1 test client declares no elicitation: its refusal ends the call with that error, nothing hangs.
      assert.ok(await codeOf(legacy.callTool({ name: 'test_input_required_result_elicitation', arguments: {} })));
      assert.deepEqual(
        children('rounds').map((s) => [s.era, s.child.era]),
        [['session', 'native']],
      );
    } finally {
      await endSession(legacy);
    }
  });

  it('v2 (2026-07-28) and v1 clients side by side: tools/list filtered, echo allowed, secret denied', async () => {
    const token = await h.token('modern');
    const modern = await modernClient(h, 'modern', token);
    const legacy = await sdkClient(h, 'modern', token);
    try {
      for (const client of [modern, legacy] as Array<typeof legacy>) {
        const list = await client.listTools();
        assert.equal(list['cacheScope'], 'private', "never the child's public, whichever era asks");
        const names = list.tools.map((t) => t.name).sort();
        assert.deepEqual(names, ['echo', 'whoami'], "the policy filters the native child's list");
        assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })), 'hi');
        assert.equal(await codeOf(client.callTool({ name: 'secret', arguments: {} })), DENIED);
      }
      assert.deepEqual(
        children('modern').map((s) => [s.era, s.child.era]),
        [
          ['stateless', 'native'],
          ['session', 'native'],
        ],
      );
      assert.equal(legacy.getServerVersion()?.name, 'gatekit-modern', 'initialize answered from the discover result');
      assert.equal(legacy.getInstructions(), 'a 2026-07-28 fixture');
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });

  it("GATEKIT_USER as each of two people sees it; the child reads each client's own envelope", async () => {
    const pids = new Map<string, Set<number>>();
    for (const user of PEOPLE) {
      const token = await h.token('modern', { user });
      const modern = await modernClient(h, 'modern', token);
      const legacy = await sdkClient(h, 'modern', token);
      try {
        for (const [client, name] of [
          [modern, 'gatekit-test-v2'],
          [legacy, 'gatekit-test'],
        ] as const) {
          const seen = JSON.parse(textOf(await (client as typeof legacy).callTool({ name: 'whoami', arguments: {} })));
          assert.equal(seen.user, user);
          assert.equal(seen.envelope['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
          assert.equal(seen.envelope['io.modelcontextprotocol/clientInfo'].name, name);
          pids.set(user, (pids.get(user) ?? new Set()).add(seen.pid));
        }
      } finally {
        await modern.close();
        await endSession(legacy);
      }
    }
    const [alice, bob] = PEOPLE.map((u) => pids.get(u)!);
    assert.ok(
      [...alice!].every((pid) => !bob!.has(pid)),
      'two people never share a child',
    );
  });

  it('a session-era client cannot claim another version towards a native child: it gets 2026-07-28', async () => {
    const legacy = await sdkClient(h, 'modern', await h.token('modern'));
    try {
      const forged = {
        'io.modelcontextprotocol/protocolVersion': '2024-01-01',
        'io.modelcontextprotocol/clientInfo': { name: 'forged', version: '0' },
      };
      const answer = await legacy.callTool({ name: 'whoami', arguments: {}, _meta: forged });
      const seen = JSON.parse(textOf(answer));
      assert.equal(seen.envelope['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
      assert.equal(seen.user, 'alice@example.com');
    } finally {
      await endSession(legacy);
    }
  });

  it("server/discover is the child's own discover answer (instructions, serverInfo), made private", async () => {
    const token = await h.token('modern');
    const answer = await raw(
      h.unix('modern'),
      'POST',
      modernHeaders(token, 'server/discover'),
      modernBody(1, 'server/discover'),
    );
    assert.equal(answer.status, 200);
    const { result } = await firstRpcMessage(answer.body);
    assert.equal(result.instructions, 'a 2026-07-28 fixture');
    assert.equal(result._meta['io.modelcontextprotocol/serverInfo'].name, 'gatekit-modern');
    assert.deepEqual(result.capabilities, { tools: {} });
    assert.equal(result.cacheScope, 'private');
  });

  it("the child's tools list reaches a stateless client private (ttlMs 0), not as the child's public", async () => {
    const token = await h.token('modern');
    const answer = await raw(h.unix('modern'), 'POST', modernHeaders(token, 'tools/list'), modernBody(1, 'tools/list'));
    const { result } = await firstRpcMessage(answer.body);
    assert.deepEqual(
      result.tools.map((t: { name: string }) => t.name),
      ['echo', 'whoami'],
    );
    assert.equal(result.cacheScope, 'private');
    assert.equal(result.ttlMs, 0);
  });

  it("server/discover drops the tools capability when the policy allows none of the child's tools", async () => {
    const token = await h.token('sealed');
    const headers = modernHeaders(token, 'server/discover');
    const answer = await raw(h.unix('sealed'), 'POST', headers, modernBody(1, 'server/discover'));
    const { result } = await firstRpcMessage(answer.body);
    assert.equal(result.instructions, 'a 2026-07-28 fixture');
    assert.deepEqual(result.capabilities, {});
    assert.equal(children('sealed')[0]!.child.era, 'native');
  });

  it('a session-era server that ignores the probe starts after half of start_timeout, as session-era', async () => {
    const token = await h.token('deaf');
    const connecting = sdkClient(h, 'deaf', token);
    await Promise.race([g.seen((f) => f === 'probe-ignored'), connecting]);
    assert.ok(existsSync(join(g.dir, 'probe-ignored')), 'the daemon probed with server/discover first');
    const limits = h.config.daemon.limits;
    h.daemon.sessions.sweep(limits, Date.now() + (limits.start_timeout * 1000) / 2 + 1000);
    const legacy = await connecting;
    try {
      assert.equal(textOf(await legacy.callTool({ name: 'echo', arguments: { message: 'late' } })), 'late');
      assert.deepEqual(
        children('deaf').map((s) => [s.ended, s.child.era]),
        [[false, 'session']],
      );
    } finally {
      await endSession(legacy);
    }
  });

  it("server-everything answers the probe with an error: session-era; the server's next child skips it", async () => {
    const token = await h.token('everything');
    const modern = await modernClient(h, 'everything', token);
    const legacy = await sdkClient(h, 'everything', token);
    try {
      assert.ok((await modern.listTools()).tools.some((t) => t.name === 'echo'));
      assert.ok((await legacy.listTools()).tools.some((t) => t.name === 'echo'));
      assert.deepEqual(
        children('everything').map((s) => s.child.era),
        ['session', 'session'],
      );
      const server = h.config.servers.get('everything')!;
      const owner = { user: 'alice@example.com', sub: 'sub-alice@example.com', groups: [] };
      const next = h.daemon.sessions.open(server, owner, h.config.daemon.limits);
      assert.equal(next.child.era, 'session', 'no probe: the verdict is cached per server');
      await next.end('test done');
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });
});
