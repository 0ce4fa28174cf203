import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Agent, request, type Dispatcher } from 'undici';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { certificateInfo, issueClientCertificate } from '../lib/setup/index.js';
import { gatekit, GATEKIT_BIN } from './helpers/cli.js';
import {
  baseUrl,
  daemonConfig,
  INITIALIZE,
  JSON_HEADERS,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { decodePart } from './helpers/forge.js';
import { deviceLoginCli } from './helpers/login.js';

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';

describe('RFC 8705 on the connect side: tokens for an mTLS listener are bound to [daemon] client_tls', () => {
  let idp: DevIdp;
  let h: Harness;
  let other: Dispatcher;
  let otherCert: string;

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    h = await startHarness((await daemonConfig()).replace('http://127.0.0.1:9', idp.issuer));
    assert.equal((await deviceLoginCli(h.ws, 'alice@example.com')).code, 0);
    const out = { cert: join(h.ws.dir, 'mallory', 'client.pem'), key: join(h.ws.dir, 'mallory', 'client.key') };
    await issueClientCertificate(join(h.ws.dir, 'certs', 'ca.pem'), out, 'mallory@example.com');
    otherCert = out.cert;
    other = new Agent({
      connect: {
        ca: readFileSync(join(h.ws.dir, 'certs', 'ca.pem')),
        cert: readFileSync(out.cert),
        key: readFileSync(out.key),
      },
    });
  });
  after(async () => {
    await other.close();
    await h.close();
    await idp.close();
  });

  const initialize = async (token: string, via: Dispatcher) => {
    const res = await request(baseUrl(h, 'tls'), {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      body: INITIALIZE,
      dispatcher: via,
    });
    await res.body.dump();
    return res.statusCode;
  };

  it('gatekit connect works over mTLS with a token bound to its client certificate; replayed with another certificate: 401', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [GATEKIT_BIN, 'connect', 'tls'],
      env: { ...process.env, ...h.ws.env } as Record<string, string>,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'bound', version: '1' });
    await client.connect(transport);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'bound' } })), 'bound');
    } finally {
      await client.close();
    }
    const r = await gatekit(['broker', 'token', '--resource', 'tls'], { env: h.ws.env });
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    const thumbprint = certificateInfo(h.config.daemon.client_tls!.cert).thumbprint;
    assert.deepEqual(decodePart(token, 1)['cnf'], { 'x5t#S256': thumbprint });
    assert.equal(await initialize(token, h.mtls), 200, 'accepted with the certificate it is bound to');
    assert.equal(await initialize(token, other), 401, 'refused with another certificate');
  });

  it('tokens for a Unix-socket server stay unbound, and the cache keeps the two apart', async () => {
    const r = await gatekit(['broker', 'token', '--resource', 'notes'], { env: h.ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(decodePart(r.stdout.trim(), 1)['cnf'], undefined);
  });

  it('token verify --cert checks the binding', async () => {
    const token = (await gatekit(['broker', 'token', '--resource', 'tls'], { env: h.ws.env })).stdout.trim();
    const own = await gatekit(['token', 'verify', token, '--cert', h.config.daemon.client_tls!.cert], {
      env: h.ws.env,
    });
    assert.equal(own.code, 0, own.stderr);
    const wrong = await gatekit(['token', 'verify', token, '--cert', otherCert], { env: h.ws.env });
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.equal(wrong.stdout, '');
    const none = await gatekit(['token', 'verify', token], { env: h.ws.env });
    assert.equal(none.code, 1, none.stderr);
  });
});
