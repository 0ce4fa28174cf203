import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { MAX_LISTENERS_PER_CHILD } from '../lib/daemon/era/listen.js';
import { ASKER_CONFIG } from './helpers/asker.js';
import { daemonConfig, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernHeaders } from './helpers/modern-client.js';

/** An open listen stream, or the JSON-RPC error code the daemon answered with instead. */
type Listen = { open: true; close: () => void } | { open: false; code: number };

let next = 1;

/** A listen as a 2026-07-28 client sends it; an open stream is read up to its acknowledgement. */
async function listen(h: Harness, token: string): Promise<Listen> {
  const abort = new AbortController();
  const res = await request('http://localhost/mcp', {
    method: 'POST',
    headers: { host: 'localhost', ...modernHeaders(token, 'subscriptions/listen') },
    body: modernBody(next++, 'subscriptions/listen', { notifications: { toolsListChanged: true } }),
    dispatcher: h.unix('asker'),
    signal: abort.signal,
  });
  assert.equal(res.statusCode, 200);
  if (!String(res.headers['content-type']).startsWith('text/event-stream')) {
    const body = (await res.body.json()) as { error?: { code: number } };
    assert.ok(body.error, 'a JSON answer to a listen is a refusal');
    return { open: false, code: body.error.code };
  }
  // Read up to the acknowledgement without ending the stream (a `break` out of `for await` would destroy it).
  const seen = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += String(chunk);
      if (!text.includes('notifications/subscriptions/acknowledged')) return;
      res.body.off('data', onData);
      res.body.pause();
      resolve(text);
    };
    res.body.on('data', onData);
    res.body.once('error', reject);
    res.body.once('end', () => resolve(text));
  });
  assert.match(seen, /notifications\/subscriptions\/acknowledged/);
  return { open: true, close: () => abort.abort() };
}

describe('daemon: at most 8 subscriptions/listen streams per person and server', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(ASKER_CONFIG));
  });
  after(() => h.close());

  it('refuses the 9th with -32602 and an audit line; closing one frees a place; another person is apart', async (t) => {
    assert.equal(MAX_LISTENERS_PER_CHILD, 8, 'the README promises 8');
    const alice = await h.token('asker');
    const open: Array<() => void> = [];
    t.after(async () => {
      open.forEach((close) => close());
      // Ending the pooled children ends their listens on the daemon's side too, before the harness stops it.
      await Promise.all(h.daemon.sessions.all().map((s) => s.end('test over')));
    });
    for (let i = 0; i < MAX_LISTENERS_PER_CHILD; i++) {
      const stream = await listen(h, alice);
      assert.ok(stream.open, `listen ${i + 1} of ${MAX_LISTENERS_PER_CHILD} is served`);
      open.push(stream.close);
    }
    const before = h.audit().length;
    assert.deepEqual(await listen(h, alice), { open: false, code: -32602 });
    const refused = h.audit().slice(before);
    assert.deepEqual(
      refused.map((l) => [l['event'], l['method'], l['outcome'], l['era'], l['user']]),
      [['request', 'subscriptions/listen', 'error', 'stateless', 'alice@example.com']],
    );

    const bob = await listen(h, await h.token('asker', { user: 'bob@example.com' }));
    assert.ok(bob.open, "bob's own child has its own places");
    open.push(bob.close);

    open.shift()!();
    // The daemon (in this process) frees the place when it sees the stream close: each try is one answered
    // request, so this waits on the daemon's events, bounded by a count rather than a clock.
    let again: Listen = { open: false, code: 0 };
    for (let tries = 0; tries < 100 && !again.open; tries++) again = await listen(h, alice);
    assert.ok(again.open, 'a closed stream frees its place');
    open.push(again.close);
    assert.deepEqual(await listen(h, alice), { open: false, code: -32602 }, 'and the bound holds again');
  });
});

describe('daemon: stopping with a subscriptions/listen stream open', () => {
  it('does not wait drain_timeout for a standing stream: the stream ends gracefully and stop returns', async (t) => {
    // An hour: if the listen counted as a request in flight, stop() would wait that long and the test time out.
    const h = await startHarness(await daemonConfig(ASKER_CONFIG, 'drain_timeout = "1h"'));
    const stream = await listen(h, await h.token('asker'));
    assert.ok(stream.open);
    t.after(() => stream.close());
    await h.close();
  });
});
