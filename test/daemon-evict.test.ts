import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  daemonConfig,
  INITIALIZE,
  JSON_HEADERS,
  raw,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { gates, type Gates } from './helpers/gated.js';

const sessionOf = (client: Client) => (client.transport as StreamableHTTPClientTransport).sessionId!;

// The harness config bounds sessions at 4 per person and 6 in all.
describe('daemon: sessions nobody closes never lock a person out', () => {
  let h: Harness;
  let g: Gates;
  const clients: Client[] = [];
  before(async () => {
    g = gates();
    h = await startHarness(await daemonConfig(g.toml('gated')));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await h.close();
    g.remove();
  });
  const evicted = () =>
    h
      .audit()
      .filter((l) => l['event'] === 'session.end' && l['reason'] === 'evicted')
      .map((l) => l['session']);

  it('40 sessions opened in a row by one person, none DELETEd, all work; the least recently used go', async () => {
    const token = await h.token('notes');
    const opened: string[] = [];
    for (let i = 0; i < 40; i++) {
      const client = await sdkClient(h, 'notes', token);
      clients.push(client);
      opened.push(sessionOf(client));
      const echoed = await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } });
      assert.deepEqual(echoed, { content: [{ type: 'text', text: `call ${i}` }] });
    }
    assert.deepEqual(evicted(), opened.slice(0, 36), 'the oldest sessions made room, in order');
    assert.equal(h.daemon.sessions.all().filter((s) => s.owner.sub === 'sub-alice@example.com').length, 4);
    const onFirst = { ...JSON_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': opened[0]! };
    const list = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
    const gone = await raw(h.unix('notes'), 'POST', onFirst, list);
    assert.equal(gone.status, 404, 'an evicted session is an ended one: the client starts over');
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it("all of a person's or the daemon's sessions busy: a new one gets 429; once one is idle, it goes", async () => {
    const before = evicted().length;
    for (const s of h.daemon.sessions.all()) await s.end('test reset');
    const alice = await h.token('gated');
    const busy: Array<Promise<unknown>> = [];
    const mine: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await sdkClient(h, 'gated', alice);
      clients.push(client);
      mine.push(client);
      busy.push(client.callTool({ name: 'block', arguments: { gate: `a${i}` } }, undefined, { timeout: 600_000 }));
      await g.seen((f) => f === `blocked-a${i}`);
    }
    const init = async (token: string) => {
      return raw(h.unix('gated'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    };
    const refused = await init(alice);
    assert.equal(refused.status, 429);
    assert.match(refused.body, /max_sessions_per_user/);

    const bob = await h.token('gated', { user: 'bob@example.com', groups: ['ops'] });
    for (let i = 0; i < 2; i++) {
      const client = await sdkClient(h, 'gated', bob);
      clients.push(client);
      busy.push(client.callTool({ name: 'block', arguments: { gate: `b${i}` } }, undefined, { timeout: 600_000 }));
      await g.seen((f) => f === `blocked-b${i}`);
    }
    const full = await init(bob);
    assert.equal(full.status, 429);
    assert.match(full.body, /max_children/);
    assert.equal(evicted().length, before, 'nothing busy was evicted');

    g.open('a0');
    assert.match(JSON.stringify(await busy[0]), /released a0/);
    const fifth = await sdkClient(h, 'gated', alice);
    clients.push(fifth);
    assert.deepEqual(evicted().slice(before), [sessionOf(mine[0]!)], 'the session whose call ended made room');
    for (const name of ['a1', 'a2', 'a3', 'b0', 'b1']) g.open(name);
    await Promise.all(busy);
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it("at max_children the person's own idle session goes first, else the daemon's least recently used", async () => {
    for (const s of h.daemon.sessions.all()) await s.end('test reset');
    const before = evicted().length;
    const open = async (user: string) => {
      const client = await sdkClient(h, 'notes', await h.token('notes', { user, groups: ['ops'] }));
      clients.push(client);
      return sessionOf(client);
    };
    const a: string[] = [];
    for (let i = 0; i < 4; i++) a.push(await open('alice@example.com'));
    const b = [await open('bob@example.com'), await open('bob@example.com')];
    await open('bob@example.com');
    assert.deepEqual(evicted().slice(before), [b[0]], "bob makes room among his own sessions, not alice's older one");
    await open('carol@example.com');
    assert.deepEqual(evicted().slice(before), [b[0], a[0]], "carol has none: the daemon's least recently used goes");
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
});
