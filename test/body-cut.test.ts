import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GatekitError } from '../lib/errors.js';
import { readBody } from '../lib/http/index.js';
import { JSON_HEADERS, startHarness, type Harness } from './helpers/daemon-harness.js';
import { whenFile } from './helpers/wait.js';

/** Sends the headers and half of a body, then drops the connection (a client that went away mid-upload). */
function cutOff(connect: { socketPath: string } | { port: number }, headers: Record<string, string>) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } });
  const req = httpRequest({
    ...connect,
    method: 'POST',
    path: '/mcp',
    headers: { host: 'localhost', ...headers, 'content-length': String(body.length) },
  });
  req.on('error', () => {});
  req.write(body.slice(0, body.length >> 1), () => req.destroy());
}

describe('a body the client cut off (found by the soak, issue 22 item 3)', () => {
  it('readBody refuses it at once, even when the connection closed before it was called', async (t) => {
    const arrived = new Promise<IncomingMessage>((resolve) => {
      const server = createServer((req) => resolve(req)).listen(0, '127.0.0.1', () => {
        cutOff({ port: (server.address() as { port: number }).port }, {});
      });
      t.after(() => server.close());
    });
    const req = await arrived;
    // An earlier step awaited (a token's first verification) while the client left: the request is gone already.
    req.on('error', () => {}); // 'aborted', when no step listens
    if (!req.destroyed) await new Promise((r) => req.once('close', r));
    let outcome: unknown = 'pending';
    readBody(req, { limit: 1024 }).then(
      () => (outcome = 'resolved'),
      (err: unknown) => (outcome = err),
    );
    await new Promise((r) => setImmediate(r));
    assert.ok(outcome instanceof GatekitError, `readBody is ${String(outcome)}, not refused`);
    assert.equal(outcome.code, 'BAD_REQUEST');
    assert.match(outcome.message, /the request body was cut off before its end/);
  });

  describe('through the daemon', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(async () => {
      await h.close();
    });

    it('one audit line that says so, not an internal error', async () => {
      const token = await h.token('notes');
      cutOff(
        { socketPath: join(h.ws.dir, 'run', 'notes.sock') },
        { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      );
      // The line is written when the daemon sees the connection close.
      const lines = await whenFile(
        join(h.ws.dir, 'audit.jsonl'),
        () => {
          const found = h.audit().filter((l) => l['event'] === 'request');
          return found.length > 0 ? found : undefined;
        },
        'the audit line of the cut-off request',
      );
      assert.equal(lines.length, 1, 'exactly one terminal line');
      assert.equal(lines[0]!['outcome'], 'error');
      assert.match(String(lines[0]!['error']), /the request body was cut off before its end/);
    });
  });
});
