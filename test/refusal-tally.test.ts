import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { daemonConfig, INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';
import { parseExposition, sampleValue } from './helpers/prom-text.js';
import { startTokenHost, type TokenHost } from './helpers/token-endpoint.js';

const REFUSED = 1000;

/** Runs `send` REFUSED times, 8 at a time. */
async function times(send: () => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < REFUSED) await send();
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Each request is in exactly one line: a line stands for itself, or for `count` more with `aggregate: "end"`. */
const requestsIn = (lines: Array<Record<string, unknown>>) =>
  lines.reduce((sum, l) => sum + (l['aggregate'] === 'end' ? (l['count'] as number) : 1), 0);

describe('nobody can write unlimited audit lines: anonymous refusals are tallied', () => {
  let h: Harness;
  before(async () => {
    const toml = (await daemonConfig()).replace(
      'audit_log = "audit.jsonl"',
      'audit_log = "audit.jsonl"\nmetrics_listen = "unix:run/metrics.sock"',
    );
    h = await startHarness(toml);
  });
  after(async () => {
    await h.close();
  });

  it('1,000 tokenless MCP requests add at most 5 lines, and their counts add up to 1,000', async () => {
    const before = h.audit().length;
    const via = h.unix('notes');
    await times(async () => {
      assert.equal((await raw(via, 'POST', JSON_HEADERS, INITIALIZE)).status, 401);
    });
    // A reload ends the window at once, so nothing counted is lost (so does a stop, or the minute's end).
    await h.daemon.reload();
    const lines = h
      .audit()
      .slice(before)
      .filter((l) => l['event'] === 'auth.failed');
    assert.ok(lines.length <= 5, `${lines.length} lines`);
    assert.equal(requestsIn(lines), REFUSED);
    assert.deepEqual(
      lines.map((l) => l['aggregate'] ?? '-'),
      ['-', '-', '-', 'start', 'end'],
    );
    assert.ok(lines.every((l) => l['server'] === 'notes' && l['error'] === 'no token'));
    // The metrics count from the same lines: the tally's end line counts for its requests.
    const metrics = new Agent({ connect: { socketPath: join(h.ws.dir, 'run', 'metrics.sock') } });
    try {
      const res = await request('http://localhost/metrics', { dispatcher: metrics });
      const m = parseExposition(await res.body.text());
      const refused = { server: 'notes', method: 'POST', outcome: 'refused' };
      assert.equal(sampleValue(m, 'gatekit_requests_total', refused), REFUSED);
    } finally {
      await metrics.close();
    }
  });
});

describe('nobody can write unlimited audit lines: 429s at the token endpoint are tallied per peer', () => {
  let host: TokenHost;
  before(async () => {
    host = await startTokenHost('https://idp.invalid', '[daemon.limits]\nmax_failed_exchanges = 1');
  });
  after(async () => {
    await host.close();
  });

  it('1,000 rate-limited exchanges add at most 5 lines, and their counts add up to 1,000', async () => {
    assert.equal((await host.exchange('a.b.c', 'urn:example:unsupported')).status, 400);
    const before = host.audit().length;
    await times(async () => {
      assert.equal((await host.exchange('a.b.c', 'urn:example:unsupported')).status, 429);
    });
    await host.daemon.reload();
    const lines = host
      .audit()
      .slice(before)
      .filter((l) => l['event'] === 'auth.failed');
    assert.ok(lines.length <= 5, `${lines.length} lines`);
    assert.equal(requestsIn(lines), REFUSED);
    assert.ok(lines.every((l) => l['error'] === 'too many failed exchanges from this peer'));
  });
});
