import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:https';
import { gatekit } from './helpers/cli.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

const TLS_CONFIG = basicConfig('http://127.0.0.1:9', 'listen = "127.0.0.1:7999"').replace('[daemon]', '[daemon]\ntls = { ca = "certs/ca.pem", cert = "certs/daemon.pem", key = "certs/daemon.key" }');

function get(port: number, host: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', servername: host === '127.0.0.1' ? undefined : host, ...tls }, (res) => { res.resume(); resolve(res.statusCode!) });
    req.on('error', reject);
    req.end();
  });
}

describe('gatekit init: the local CA', () => {
  let ws: Workspace;
  let other: Workspace;
  let server: Server;
  let port: number;
  const file = (w: Workspace, name: string) => readFileSync(join(w.dir, 'certs', name));

  before(async () => {
    ws = workspace(TLS_CONFIG);
    other = workspace(TLS_CONFIG);
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    assert.equal((await gatekit(['init'], { env: other.env })).code, 0);
    server = createServer({ ca: file(ws, 'ca.pem'), cert: file(ws, 'daemon.pem'), key: file(ws, 'daemon.key'), requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    ws.remove();
    other.remove();
  });

  it('creates CA, daemon and client certificates: keys 0600, certificates 0644, chained to the CA with the right names and uses', () => {
    for (const key of ['ca.key', 'daemon.key', 'client.key']) assert.equal(statSync(join(ws.dir, 'certs', key)).mode & 0o777, 0o600, key);
    for (const cert of ['ca.pem', 'daemon.pem', 'client.pem']) assert.equal(statSync(join(ws.dir, 'certs', cert)).mode & 0o777, 0o644, cert);
    const ca = new X509Certificate(file(ws, 'ca.pem'));
    const daemon = new X509Certificate(file(ws, 'daemon.pem'));
    const client = new X509Certificate(file(ws, 'client.pem'));
    assert.ok(ca.ca);
    assert.ok(daemon.verify(ca.publicKey) && client.verify(ca.publicKey));
    assert.ok(!daemon.ca);
    assert.match(daemon.subjectAltName!, /IP Address:127\.0\.0\.1/);
    assert.match(daemon.subjectAltName!, /DNS:localhost/);
    assert.ok(daemon.checkIP('::1'));
  });

  it('mutual TLS works with the client certificate, for 127.0.0.1 and localhost', async () => {
    const tls = { ca: file(ws, 'ca.pem'), cert: file(ws, 'client.pem'), key: file(ws, 'client.key') };
    assert.equal(await get(port, '127.0.0.1', tls), 200);
    assert.equal(await get(port, 'localhost', tls), 200);
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    await assert.rejects(get(port, '127.0.0.1', { ca: file(ws, 'ca.pem') }));
    await assert.rejects(get(port, '127.0.0.1', { ca: file(ws, 'ca.pem'), cert: file(other, 'client.pem'), key: file(other, 'client.key') }));
  });

  it('init keeps existing files; --force replaces them', async () => {
    const before = new X509Certificate(file(ws, 'ca.pem')).fingerprint256;
    const again = await gatekit(['init'], { env: ws.env });
    assert.match(again.stderr, /kept\s+certs\/ca\.pem|kept .*ca\.pem/);
    assert.equal(new X509Certificate(file(ws, 'ca.pem')).fingerprint256, before);
    assert.equal((await gatekit(['init', '--force'], { env: ws.env })).code, 0);
    assert.notEqual(new X509Certificate(file(ws, 'ca.pem')).fingerprint256, before);
  });
});
