import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { request, type Dispatcher } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { mintAccessToken } from '../lib/token/index.js';
import { ASKER_CONFIG } from './helpers/asker.js';
import {
  BROKER_ISSUER,
  daemonConfig,
  INITIALIZE,
  JSON_HEADERS,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { modernBody, modernHeaders } from './helpers/modern-client.js';

/** How long a test waits for a stream's end before it fails (the old daemon kept them open for idle_timeout). */
const BOUND_MS = 90_000;

/** Resolves with the stream's text when it ends; rejects after BOUND_MS. */
function ended(body: Dispatcher.ResponseData['body'], what: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still open after ${BOUND_MS} ms`)), BOUND_MS);
  });
  return Promise.race([body.text(), bound]).finally(() => clearTimeout(timer));
}

/** A session-era GET stream on `server`: initialize, then GET /mcp with the session id. */
async function openGet(h: Harness, server: string, token: string) {
  const via = h.unix(server);
  const headers = { ...JSON_HEADERS, host: 'localhost', authorization: `Bearer ${token}` };
  const init = await request('http://localhost/mcp', { method: 'POST', headers, body: INITIALIZE, dispatcher: via });
  await init.body.text();
  assert.equal(init.statusCode, 200);
  const session = init.headers['mcp-session-id'] as string;
  const get = await request('http://localhost/mcp', {
    method: 'GET',
    headers: {
      host: 'localhost',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-session-id': session,
    },
    dispatcher: via,
  });
  assert.equal(get.statusCode, 200);
  return { session, done: ended(get.body, 'the GET stream'), via, headers: { ...headers, 'mcp-session-id': session } };
}

/** A 2026-07-28 `subscriptions/listen` stream on the asker fixture's pooled child. */
async function openListen(h: Harness, token: string) {
  const res = await request('http://localhost/mcp', {
    method: 'POST',
    headers: { ...modernHeaders(token, 'subscriptions/listen'), host: 'localhost' },
    body: modernBody(7, 'subscriptions/listen', { notifications: { toolsListChanged: true } }),
    dispatcher: h.unix('asker'),
  });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /text\/event-stream/);
  return ended(res.body, 'the listen stream');
}

const mint = (h: Harness, server: string, user: string, groups: string[], at: number, ttl: number) =>
  mintAccessToken(h.key, {
    identity: { user, sub: `sub-${user}`, groups },
    issuer: BROKER_ISSUER,
    resource: h.config.servers.get(server)!.resource,
    scope: 'tools:*',
    clientId: 'gatekit-cli',
    userClaim: 'email',
    ttl,
    now: at,
  }).then((m) => m.token);

describe('a stream never outlives its token', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(ASKER_CONFIG));
  });
  after(async () => {
    await h.close();
  });

  it('a GET stream and a subscriptions/listen stream end when their token expires (exp + 60 s skew)', async () => {
    // Issued 48 s ago for 1 s: the door takes it for about 13 s more (exp + 60 s of clock skew).
    const at = Date.now() - 48_000;
    const notes = await mint(h, 'notes', 'alice@example.com', [], at, 1);
    const asker = await mint(h, 'asker', 'alice@example.com', [], at, 1);
    const get = await openGet(h, 'notes', notes);
    const listen = openListen(h, asker);
    await get.done;
    const text = await listen;
    assert.match(text, /"error":\{"code":-?\d+,"message":"token expired"\}/, 'the listen request is answered');
    const closed = h.audit().filter((l) => l['error'] === 'stream closed: token expired');
    assert.deepEqual(closed.map((l) => [l['event'], l['method'], l['user']]).sort(), [
      ['request', 'GET', 'alice@example.com'],
      ['request', 'subscriptions/listen', 'alice@example.com'],
    ]);
  });

  it("a reload that revokes a person (not_before) ends their GET and listen streams, and no one else's", async () => {
    const now = Date.now();
    const alice = await openGet(h, 'notes', await mint(h, 'notes', 'alice@example.com', [], now, 300));
    const aliceListen = openListen(h, await mint(h, 'asker', 'alice@example.com', [], now, 300));
    const bob = await openGet(h, 'notes', await mint(h, 'notes', 'bob@example.com', ['ops'], now, 300));
    let bobEnded = false;
    void bob.done.then(
      () => (bobEnded = true),
      () => {},
    );
    const revokedFrom = new Date(Math.floor(now / 1000) * 1000 + 5000).toISOString();
    h.ws.write(`${readFileSync(h.ws.config, 'utf8')}\n[daemon.not_before]\n"alice@example.com" = "${revokedFrom}"\n`);
    assert.equal(loadConfig({ config: h.ws.config }).daemon.not_before.size, 1);
    await h.daemon.reload();
    await alice.done;
    const listenText = await aliceListen;
    assert.match(listenText, /"error":\{"code":-?\d+,"message":"tokens of alice@example.com issued before/);
    // One round trip on bob's session after the reload: his stream is still open.
    const ping = await request('http://localhost/mcp', {
      method: 'POST',
      headers: bob.headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
      dispatcher: bob.via,
    });
    await ping.body.text();
    assert.equal(ping.statusCode, 200);
    assert.equal(bobEnded, false, "bob's GET stream is still open");
    const denied = h
      .audit()
      .filter((l) => l['event'] === 'denied' && String(l['error']).startsWith('stream closed: tokens of alice'));
    assert.deepEqual(denied.map((l) => l['method']).sort(), ['GET', 'subscriptions/listen']);
    assert.ok(denied.every((l) => l['user'] === 'alice@example.com'));
  });

  it("a reload whose policy no longer admits a person ends that person's GET stream", async () => {
    const bob = await openGet(h, 'notes', await mint(h, 'notes', 'bob@example.com', ['ops'], Date.now(), 300));
    const config = readFileSync(h.ws.config, 'utf8');
    assert.ok(config.includes('allow_groups = ["ops"]'));
    h.ws.write(config.replace('allow_groups = ["ops"]', 'allow_groups = ["ops-no-more"]'));
    await h.daemon.reload();
    await bob.done;
    const denied = h
      .audit()
      .filter((l) => l['event'] === 'denied' && l['session'] === bob.session && l['method'] === 'GET');
    assert.equal(denied.length, 1);
    assert.match(String(denied[0]!['error']), /^stream closed: denied by policy/);
  });
});
