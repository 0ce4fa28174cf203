import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { daemonConfig, JSON_HEADERS, raw, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { gates, type Gates } from './helpers/gated.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

// The harness config bounds sessions at 4 per person and 6 in all; pooled children count.
describe('daemon: pooled 2026-07-28 children are bounded, evicted and reaped like sessions', () => {
  let h: Harness;
  let g: Gates;
  before(async () => {
    g = gates();
    h = await startHarness(await daemonConfig(g.toml('gated')));
  });
  after(async () => {
    await h.close();
    g.remove();
  });
  const pooled = () => h.daemon.sessions.all().filter((s) => s.era === 'stateless');
  const ends = (reason: string) => h.audit().filter((l) => l['event'] === 'session.end' && l['reason'] === reason);

  it('a pooled child counts toward max_sessions_per_user: the least recently used goes, pooled or not', async () => {
    const token = await h.token('notes');
    const modern = await modernClient(h, 'notes', token);
    const legacy: Array<Awaited<ReturnType<typeof sdkClient>>> = [];
    try {
      await modern.callTool({ name: 'echo', arguments: { message: 'first' } });
      const [child] = pooled();
      assert.ok(child, 'the stateless request started a pooled child');
      for (let i = 0; i < 4; i++) legacy.push(await sdkClient(h, 'notes', token));
      assert.deepEqual(
        ends('evicted').map((l) => [l['session'], l['era']]),
        [[child.id, 'stateless']],
      );
      assert.equal(h.daemon.sessions.all().length, 4);
      const again = await modern.callTool({ name: 'echo', arguments: { message: 'again' } });
      assert.deepEqual(again.content, [{ type: 'text', text: 'again' }], 'a new pooled child replaces the evicted one');
      assert.equal(ends('evicted').length, 2, 'and it made room in turn');
      assert.equal(ends('evicted')[1]!['era'], 'session');
      assert.equal(h.daemon.sessions.all().length, 4);
      assert.equal(pooled().length, 1);
      assert.notEqual(pooled()[0]!.id, child.id);
    } finally {
      await modern.close();
      await Promise.all(legacy.map((c) => c.close()));
    }
  });

  it("at max_children the least recently used idle child makes room for a new person's pooled child", async () => {
    for (const s of h.daemon.sessions.all()) await s.end('test reset');
    const people = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((p) => `${p}@example.com`);
    const clients = [];
    try {
      for (const user of people) {
        const client = await modernClient(h, 'notes', await h.token('notes', { user, groups: ['ops'] }));
        clients.push(client);
        await client.callTool({ name: 'echo', arguments: { message: user } });
      }
      assert.equal(pooled().length, 6, 'max_children');
      assert.deepEqual(
        pooled()
          .map((s) => s.owner.user)
          .sort(),
        people.slice(1),
      );
      assert.equal(ends('evicted').at(-1)!['user'], 'a@example.com', "the least recently used person's child went");
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('an idle pooled child is reaped (idle_timeout) and the next request starts a fresh one', async () => {
    const token = await h.token('notes');
    const modern = await modernClient(h, 'notes', token);
    try {
      await modern.callTool({ name: 'echo', arguments: { message: 'before' } });
      const mine = pooled().find((s) => s.owner.user === 'alice@example.com')!;
      const limits = h.config.daemon.limits;
      h.daemon.sessions.sweep(limits, Date.now() + limits.idle_timeout * 1000 + 1000);
      assert.ok(mine.ended);
      assert.ok(ends('idle timeout').some((l) => l['session'] === mine.id && l['era'] === 'stateless'));
      const after = await modern.callTool({ name: 'echo', arguments: { message: 'after' } });
      assert.deepEqual(after.content, [{ type: 'text', text: 'after' }]);
      assert.notEqual(pooled().find((s) => s.owner.user === 'alice@example.com')!.id, mine.id);
    } finally {
      await modern.close();
    }
  });

  it("a pooled child's id is no session id: a session-era request naming it gets 404", async () => {
    const token = await h.token('notes');
    const modern = await modernClient(h, 'notes', token);
    try {
      await modern.callTool({ name: 'echo', arguments: { message: 'x' } });
      const mine = pooled().find((s) => s.owner.user === 'alice@example.com')!;
      const headers = { ...JSON_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': mine.id };
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      assert.equal((await raw(h.unix('notes'), 'POST', headers, body)).status, 404);
    } finally {
      await modern.close();
    }
  });

  it("every one of the person's children busy: a stateless request gets 429; once one is idle, it goes", async () => {
    for (const s of h.daemon.sessions.all()) await s.end('test reset');
    const token = await h.token('gated');
    const legacy = [];
    const busy: Array<Promise<unknown>> = [];
    try {
      for (let i = 0; i < 4; i++) {
        const client = await sdkClient(h, 'gated', token);
        legacy.push(client);
        busy.push(client.callTool({ name: 'block', arguments: { gate: `p${i}` } }, undefined, { timeout: 600_000 }));
        await g.seen((f) => f === `blocked-p${i}`);
      }
      const post = () => raw(h.unix('gated'), 'POST', modernHeaders(token, 'tools/list'), modernBody(1, 'tools/list'));
      const refused = await post();
      assert.equal(refused.status, 429);
      assert.match(refused.body, /max_sessions_per_user/);
      assert.equal(pooled().length, 0, 'no child was started');
      g.open('p0');
      await busy[0];
      const served = await post();
      assert.equal(served.status, 200);
      assert.equal(pooled().length, 1);
      for (const name of ['p1', 'p2', 'p3']) g.open(name);
      await Promise.all(busy);
    } finally {
      await Promise.all(legacy.map((c) => c.close()));
    }
  });
});
