import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';

/** One request to the IdP's port with a chosen Host header, as a DNS-rebinding page's browser sends it. */
function ask(idp: DevIdp, host: string, method: 'GET' | 'POST', path: string, body = '') {
  const { port } = new URL(idp.issuer);
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          host,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the development IdP answers only its own Host (DNS rebinding)', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp?.close());

  it('answers its loopback names with its port', async () => {
    const { port } = new URL(idp.issuer);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const r = await ask(idp, host, 'GET', '/.well-known/openid-configuration');
      assert.equal(r.status, 200, host);
      assert.equal(JSON.parse(r.text).issuer, idp.issuer);
    }
  });

  it('refuses a hostile Host with 421 and drives nothing: no discovery, no device code', async () => {
    const { port } = new URL(idp.issuer);
    const hostile = [
      `evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      '127.0.0.1',
      `127.0.0.1:${Number(port) + 1}`,
      `localhost.:${port}`,
    ];
    const before = { ...idp.counts };
    for (const host of hostile) {
      const discovery = await ask(idp, host, 'GET', '/.well-known/openid-configuration');
      assert.equal(discovery.status, 421, host);
      assert.doesNotMatch(discovery.text, /issuer|device_authorization/);
      const device = await ask(idp, host, 'POST', '/device/auth', 'client_id=gatekit-cli&scope=openid');
      assert.equal(device.status, 421, host);
      assert.doesNotMatch(device.text, /user_code|device_code/);
    }
    assert.deepEqual(idp.counts, before);
  });
});
