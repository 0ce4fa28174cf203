import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startWorkloadIssuer, type WorkloadIssuer } from '../fixtures/workload-issuer/server.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon } from '../lib/daemon/index.js';
import { exchangeToken } from '../lib/broker/exchange.js';
import { initialize } from '../lib/setup/index.js';
import { daemonConfig } from './helpers/daemon-harness.js';
import { GRANT, startTokenHost, TOKEN_TYPE, type TokenHost } from './helpers/token-endpoint.js';
import { workspace } from './helpers/workspace.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** POST /token with our own headers; the body goes out in `chunks` (chunked, no Content-Length). */
function post(socketPath: string, headers: Record<string, string>, chunks: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/token', method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const FORM = 'application/x-www-form-urlencoded';

describe('lib/http at the token endpoint: bounded body, media type, JSON reply', () => {
  let wi: WorkloadIssuer;
  let host: TokenHost;
  before(async () => {
    wi = await startWorkloadIssuer();
    host = await startTokenHost(
      wi.url,
      '',
      `allow_groups = ["ci"]

[[trust.workload]]
issuer = "${wi.url}"
audience = "gatekit-ci"
claims = { repository = "octo-org/deploy" }
groups = ["ci"]
`,
    );
  });
  after(async () => {
    await host?.close();
    await wi?.close();
  });
  const form = async () =>
    new URLSearchParams({
      grant_type: GRANT,
      resource: 'urn:gatekit:server:notes',
      subject_token: await wi.mint(),
      subject_token_type: TOKEN_TYPE.jwt,
    }).toString();

  it('answers a streamed body over 64 KiB with 413 invalid_request (no-store) instead of dropping the connection', async () => {
    const chunks = Array.from({ length: 20 }, () => `subject_token=${'x'.repeat(4096)}&`);
    const r = await post(host.socket, { 'content-type': FORM }, chunks);
    assert.equal(r.status, 413);
    assert.equal(r.body['error'], 'invalid_request');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['pragma'], 'no-cache');
  });

  it('answers a declared Content-Length over 64 KiB with 413 before reading the body', async () => {
    const r = await post(host.socket, { 'content-type': FORM, 'content-length': String(70_000) }, ['x'.repeat(70_000)]);
    assert.equal(r.status, 413);
    assert.equal(r.body['error'], 'invalid_request');
  });

  it('refuses a look-alike media type (application/x-www-form-urlencoded-evil) with a good subject token: 400', async () => {
    const r = await post(host.socket, { 'content-type': `${FORM}-evil` }, [await form()]);
    assert.equal(r.status, 400);
    assert.equal(r.body['error'], 'invalid_request');
    assert.equal(r.body['access_token'], undefined);
  });

  it('takes the media type case-insensitively, with parameters (RFC 9110 §8.3.1)', async () => {
    const r = await post(host.socket, { 'content-type': 'Application/X-WWW-Form-URLEncoded; charset=UTF-8' }, [
      await form(),
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.body['access_token'], 'string');
  });
});

describe('lib/http TLS files: an unreadable one is CONFIG_INVALID naming its config key and path', () => {
  it('the daemon does not start when [daemon] tls key is missing, and says daemon.tls.key', async (t) => {
    const ws = workspace(await daemonConfig());
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    await initialize(config, { force: false });
    const missing = config.daemon.tls!.key;
    rmSync(missing);
    const err = await startDaemon(config).then(
      () => assert.fail('the daemon started without its TLS key'),
      (e: unknown) => e as { code?: string; message: string },
    );
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.ok(err.message.includes('daemon.tls.key') && err.message.includes(missing), err.message);
  });

  const personOverTcp = (
    clientTls: string,
  ) => `# The test IdPs serve loopback http: allowed only in a [dev] config (docs/security.md).
[dev]

[idp]
issuer = "http://127.0.0.1:9"
client_id = "gatekit-cli"

[broker]
mode = "daemon"
issuer = "urn:gatekit:broker:shared-host"

[daemon]
token_listen = "127.0.0.1:9"
${clientTls}

[servers.notes]
command = ["node", "notes.js"]
allow_users = ["alice@example.com"]
`;

  it('the exchange client over TCP without [daemon] client_tls is CONFIG_INVALID, not a failed handshake', async (t) => {
    const ws = workspace(personOverTcp(''));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    await assert.rejects(exchangeToken(config, 'subject', TOKEN_TYPE.id, 'urn:gatekit:server:notes'), {
      code: 'CONFIG_INVALID',
    });
  });

  it('the exchange client with a missing client_tls file is CONFIG_INVALID naming daemon.client_tls.ca', async (t) => {
    const ws = workspace(personOverTcp('client_tls = { ca = "nope/ca.pem", cert = "nope/c.pem", key = "nope/c.key" }'));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    const err = await exchangeToken(config, 'subject', TOKEN_TYPE.id, 'urn:gatekit:server:notes').then(
      () => assert.fail('exchanged without a client certificate'),
      (e: unknown) => e as { code?: string; message: string },
    );
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.ok(err.message.includes('daemon.client_tls.ca'), err.message);
    assert.ok(err.message.includes(join(ws.dir, 'nope', 'ca.pem')), err.message);
  });
});
