import 'reflect-metadata';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkServerIdentity, connect, type ConnectionOptions } from 'node:tls';
import type { Server } from 'node:http';
import * as x509 from '@peculiar/x509';
import { loadConfig, type Config } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { GatekitError } from '../lib/errors.js';
import { certificateInfo, initialize, issueClientCertificate } from '../lib/setup/index.js';
import { freePort } from './helpers/daemon-harness.js';
import { workspace, type Workspace } from './helpers/workspace.js';

const toml = (listen: string, daemonExtra = '') => `[broker]
issuer = "urn:gatekit:broker:test"

[daemon]
trusted_keys = "keys/broker.jwks"
tls = { ca = "certs/ca.pem", cert = "certs/daemon.pem", key = "certs/daemon.key" }
${daemonExtra}

[servers.notes]
command = ["node", "notes.js"]
listen = "${listen}"
allow_users = ["alice@example.com"]
`;
const TCP = toml('127.0.0.1:7999');
const CERTS = ['ca.pem', 'daemon.pem', 'client.pem'];
const KEYS = ['ca.key', 'daemon.key', 'client.key'];
const DAY = 86_400_000;

/** A temp dir with a gatekit.toml, loaded and initialised as `gatekit init` would. */
async function setUp(
  text = TCP,
): Promise<{ ws: Workspace; config: Config; path: (name: string) => string; pem: (name: string) => Buffer }> {
  const ws = workspace(text);
  const config = loadConfig({ config: ws.config });
  await initialize(config, { force: false });
  const path = (name: string) => join(ws.dir, 'certs', name);
  return { ws, config, path, pem: (name) => readFileSync(path(name)) };
}

const fingerprints = (path: (name: string) => string) => CERTS.map((c) => certificateInfo(path(c)).fingerprint256);

/** Connects, asks GET /healthz, and resolves with the HTTP answer; rejects when the handshake or the server refuses. */
function attempt(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options });
    let answer = '';
    socket.setEncoding('utf8');
    socket.once('secureConnect', () =>
      socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    socket.on('data', (d: string) => {
      answer += d;
    });
    socket.on('error', reject);
    socket.on('close', () => (answer ? resolve(answer) : reject(new Error('closed without an answer'))));
  });
}

/** What the daemon's /healthz says to a client it let in. */
const HEALTHY = /^HTTP\/1\.1 200 [^]*"status":"ok","server":"notes"/;

describe('local CA: files from gatekit init', () => {
  it('creates CA, daemon and client certificates: keys 0600, certificates 0644, listed as created', async () => {
    const { ws, config, path } = await setUp();
    try {
      for (const key of KEYS) assert.equal(statSync(path(key)).mode & 0o777, 0o600, key);
      for (const cert of CERTS) assert.equal(statSync(path(cert)).mode & 0o777, 0o644, cert);
      assert.equal(statSync(join(ws.dir, 'certs')).mode & 0o777, 0o700);
      const again = await initialize(config, { force: false });
      assert.deepEqual(again.created, []);
      for (const f of [...CERTS, ...KEYS]) assert.ok(again.kept.includes(path(f)), `kept ${f}`);
    } finally {
      ws.remove();
    }
  });

  it('re-running keeps every file; --force replaces CA, daemon and client certificates', async () => {
    const { ws, config, path } = await setUp();
    try {
      const first = fingerprints(path);
      await initialize(config, { force: false });
      assert.deepEqual(fingerprints(path), first);
      const forced = await initialize(config, { force: true });
      for (const f of [...CERTS, ...KEYS]) assert.ok(forced.created.includes(path(f)), `created ${f}`);
      fingerprints(path).forEach((fp, i) => assert.notEqual(fp, first[i], CERTS[i]));
      assert.ok(
        new X509Certificate(readFileSync(path('daemon.pem'))).verify(
          new X509Certificate(readFileSync(path('ca.pem'))).publicKey,
        ),
      );
    } finally {
      ws.remove();
    }
  });

  it('issues only a missing client certificate, from the existing CA', async () => {
    const { ws, config, path, pem } = await setUp();
    try {
      const [ca, daemon] = fingerprints(path);
      rmSync(path('client.pem'));
      rmSync(path('client.key'));
      const result = await initialize(config, { force: false });
      assert.deepEqual(result.created, [path('client.pem'), path('client.key')]);
      assert.deepEqual(fingerprints(path).slice(0, 2), [ca, daemon]);
      assert.ok(new X509Certificate(pem('client.pem')).verify(new X509Certificate(pem('ca.pem')).publicKey));
    } finally {
      ws.remove();
    }
  });

  it('never replaces a certificate without --force: a missing CA or CA key is an error naming the file', async () => {
    const { ws, config, path } = await setUp();
    try {
      const daemon = certificateInfo(path('daemon.pem')).fingerprint256;
      rmSync(path('ca.pem'));
      await assert.rejects(
        initialize(config, { force: false }),
        (e: GatekitError) => e.code === 'FILE_EXISTS' && e.message.includes(path('ca.key')),
      );
      assert.equal(certificateInfo(path('daemon.pem')).fingerprint256, daemon);
      await initialize(config, { force: true });
      rmSync(path('ca.key'));
      rmSync(path('client.pem'));
      rmSync(path('client.key'));
      await assert.rejects(
        initialize(config, { force: false }),
        (e: GatekitError) => e.code === 'KEY_INVALID' && e.message.includes(path('ca.key')),
      );
      const half = await setUp();
      try {
        rmSync(half.path('daemon.key'));
        await assert.rejects(
          initialize(half.config, { force: false }),
          (e: GatekitError) => e.code === 'FILE_EXISTS' && e.message.includes(half.path('daemon.pem')),
        );
      } finally {
        half.ws.remove();
      }
    } finally {
      ws.remove();
    }
  });

  it('creates no CA when every listener is a Unix socket', async () => {
    const { ws, config } = await setUp(toml('unix:run/notes.sock'));
    try {
      const result = await initialize(config, { force: false });
      assert.ok(!result.created.concat(result.kept).some((f) => f.includes('certs')), JSON.stringify(result));
    } finally {
      ws.remove();
    }
  });

  it('gives client_tls.ca a copy of the CA certificate when it is another file', async () => {
    const { ws, pem } = await setUp(toml('127.0.0.1:7999', 'client_tls = { ca = "trust/ca.pem" }'));
    try {
      assert.deepEqual(readFileSync(join(ws.dir, 'trust', 'ca.pem')), pem('ca.pem'));
      assert.equal(statSync(join(ws.dir, 'trust', 'ca.pem')).mode & 0o777, 0o644);
    } finally {
      ws.remove();
    }
  });
});

describe('local CA: certificate contents', () => {
  let ws: Workspace;
  let pem: (name: string) => Buffer;
  before(async () => ({ ws, pem } = await setUp()));
  after(() => ws.remove());

  it('the CA is a self-signed, 10-year, path-length-0 CA named after the host', async () => {
    const ca = new x509.X509Certificate(pem('ca.pem'));
    assert.equal(ca.subject, `CN=Gatekit local CA (${hostname()})`);
    assert.ok(await ca.isSelfSigned());
    const bc = ca.getExtension(x509.BasicConstraintsExtension)!;
    assert.deepEqual([bc.ca, bc.pathLength, bc.critical], [true, 0, true]);
    assert.equal(
      ca.getExtension(x509.KeyUsagesExtension)!.usages,
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    assert.ok(ca.serialNumber.length >= 16, 'at least 64 bits of serial');
    const years = (ca.notAfter.getTime() - ca.notBefore.getTime()) / DAY / 365;
    assert.ok(years >= 9.9 && years <= 10.1, String(years));
  });

  it('the daemon certificate chains to the CA, names 127.0.0.1, ::1 and localhost, and is for serverAuth only', async () => {
    const ca = new X509Certificate(pem('ca.pem'));
    const daemon = new X509Certificate(pem('daemon.pem'));
    assert.ok(daemon.verify(ca.publicKey) && daemon.checkIssued(ca));
    assert.ok(!daemon.ca);
    assert.equal(daemon.subjectAltName, 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost');
    assert.deepEqual(daemon.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    for (const host of ['127.0.0.1', '::1', 'localhost'])
      assert.equal(checkServerIdentity(host, daemon.toLegacyObject()), undefined, host);
    assert.ok(checkServerIdentity('example.com', daemon.toLegacyObject()));
    const leaf = new x509.X509Certificate(pem('daemon.pem'));
    assert.ok((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / DAY <= 825);
    const caSki = new x509.X509Certificate(pem('ca.pem')).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    assert.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, caSki);
  });

  it('the client certificate is CN=gatekit-client, for clientAuth only', () => {
    const client = new X509Certificate(pem('client.pem'));
    assert.ok(client.verify(new X509Certificate(pem('ca.pem')).publicKey));
    assert.equal(client.subject, 'CN=gatekit-client');
    assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(client.subjectAltName, undefined);
  });
});

describe("local CA: real mutual TLS at the daemon's listener", () => {
  let ws: Workspace;
  let other: Workspace;
  let pem: (name: string) => Buffer;
  let otherPem: (name: string) => Buffer;
  let daemon: Daemon;
  let listener: Server;
  let port: number;

  before(async () => {
    port = await freePort();
    ({ ws, pem } = await setUp(toml(`127.0.0.1:${port}`)));
    ({ ws: other, pem: otherPem } = await setUp());
    daemon = await startDaemon(loadConfig({ config: ws.config }));
    listener = daemon.listeners.get('notes')!;
  });
  after(async () => {
    await daemon.stop();
    ws.remove();
    other.remove();
  });

  it('accepts the client certificate, with the server name verified for 127.0.0.1 and localhost', async () => {
    const client = { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') };
    assert.match(await attempt(port, client), HEALTHY);
    assert.match(await attempt(port, { ...client, host: 'localhost', servername: 'localhost' }), HEALTHY);
    await assert.rejects(attempt(port, { ...client, servername: 'example.com' }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('refuses a client without a certificate, or with one from another CA (even one with the same name)', async () => {
    for (const client of [{}, { cert: otherPem('client.pem'), key: otherPem('client.key') }]) {
      const refused = once(listener, 'tlsClientError');
      await assert.rejects(attempt(port, { ca: pem('ca.pem'), ...client }));
      await refused;
    }
    assert.equal(new X509Certificate(otherPem('ca.pem')).subject, new X509Certificate(pem('ca.pem')).subject);
  });

  it('a client trusting another CA refuses the daemon', async () => {
    await assert.rejects(attempt(port, { ca: otherPem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') })); // SELF_SIGNED_CERT_IN_CHAIN: the server sends its CA along
  });

  it('accepts a further client certificate from issueClientCertificate, with its own thumbprint', async () => {
    const out = { cert: join(ws.dir, 'bob', 'client.pem'), key: join(ws.dir, 'bob', 'client.key') };
    const info = await issueClientCertificate(join(ws.dir, 'certs', 'ca.pem'), out, 'bob@example.com');
    assert.equal(info.subject, 'CN=bob@example.com');
    assert.notEqual(info.thumbprint, certificateInfo(join(ws.dir, 'certs', 'client.pem')).thumbprint);
    assert.equal(statSync(out.key).mode & 0o777, 0o600);
    assert.match(
      await attempt(port, { ca: pem('ca.pem'), cert: readFileSync(out.cert), key: readFileSync(out.key) }),
      HEALTHY,
    );
  });
});
