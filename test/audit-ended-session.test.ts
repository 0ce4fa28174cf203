import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';

describe('audit: a request whose session ends while its body arrives (found by the soak, issue 22 item 3)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('is answered "session ended" and has its one terminal line', async () => {
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${await h.token('notes')}` };
    // The token is verified (and cached) here, so the next request's door and session lookup run synchronously.
    const init = await raw(h.unix('notes'), 'POST', auth, INITIALIZE);
    const session = { ...auth, 'mcp-session-id': String(init.headers['mcp-session-id']) };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'slow-body', method: 'tools/list' });
    // The daemon's handler runs first: when this listener hears the request, it waits for the body.
    const reading = new Promise<void>((resolve) =>
      h.daemon.listeners.get('notes')!.once('request', (req: IncomingMessage) => {
        assert.equal(req.method, 'POST');
        resolve();
      }),
    );
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: join(h.ws.dir, 'run', 'notes.sock'),
          method: 'POST',
          path: '/mcp',
          headers: { host: 'localhost', ...session, 'content-length': String(body.length) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      void reading.then(async () => {
        assert.equal((await raw(h.unix('notes'), 'DELETE', session)).status, 204);
        req.end(body.slice(10));
      });
    });
    const { status, text } = await answered;
    assert.equal(status, 200);
    assert.match(text, /session ended/);
    const lines = h.audit().filter((l) => l['rpc_id'] === 'slow-body');
    assert.equal(lines.length, 1, 'exactly one terminal line');
    assert.equal(lines[0]!['outcome'], 'error');
    assert.equal(lines[0]!['method'], 'tools/list');
  });
});
