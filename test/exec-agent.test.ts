import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { startTokenAgent } from '../lib/exec/index.js';
import { brokerContext } from '../lib/broker/index.js';
import { loadConfig } from '../lib/config/index.js';
import { basicConfig, workspace } from './helpers/workspace.js';

/** A raw POST /token to the agent's socket; the body goes out chunked, with no Content-Length. */
function post(
  socketPath: string,
  chunks: readonly string[],
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json' };
    const req = request({ socketPath, path: '/token', method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('the gatekit exec token agent (lib/exec) reads a bounded body with lib/http', () => {
  it('answers a hostile body over 4 KiB with BODY_TOO_LARGE, and still serves the next request', async (t) => {
    const ws = workspace(basicConfig('http://127.0.0.1:9'));
    t.after(() => ws.remove());
    const ctx = brokerContext(loadConfig({ config: ws.config }), ws.env);
    const agent = await startTokenAgent(ctx, { say: () => {} });
    t.after(() => agent.close());
    const hostile = await post(
      agent.socketPath,
      Array.from({ length: 8 }, () => `{"resource":"${'x'.repeat(1024)}`),
    );
    assert.equal(hostile.body['error'], 'BODY_TOO_LARGE');
    const next = await post(agent.socketPath, ['{"resource": 1}']);
    assert.equal(next.status, 400);
    assert.equal(next.body['error'], 'BAD_REQUEST');
  });
});
