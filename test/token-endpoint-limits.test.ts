import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { startWorkloadIssuer, type WorkloadIssuer } from '../fixtures/workload-issuer/server.js';
import { certificateInfo, issueClientCertificate } from '../lib/setup/index.js';
import { freePort, INITIALIZE, JSON_HEADERS, NOTES_SERVER } from './helpers/daemon-harness.js';
import { decodePart } from './helpers/forge.js';
import { GRANT, startTokenHost, TOKEN_TYPE, type TokenHost } from './helpers/token-endpoint.js';

const workloadTrust = (issuer: string) => `allow_groups = ["ci"]

[[trust.workload]]
issuer = "${issuer}"
audience = "gatekit-ci"
claims = { repository = "octo-org/deploy" }
groups = ["ci"]
`;

describe('token endpoint: failed exchanges are rate-limited per peer', () => {
  let wi: WorkloadIssuer;
  let host: TokenHost;
  before(async () => {
    wi = await startWorkloadIssuer();
    host = await startTokenHost(wi.url, '[daemon.limits]\nmax_failed_exchanges = 3', workloadTrust(wi.url));
  });
  after(async () => {
    await host?.close();
    await wi?.close();
  });

  it('never limits successful exchanges', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await host.exchange(await wi.mint(), TOKEN_TYPE.jwt)).status, 200);
  });

  it('after 3 hostile subject tokens from the Unix socket, answers 429 with Retry-After, even for a good token', async () => {
    const hostile = ['x'.repeat(20_000), 'a.b.c', await wi.mint({ repository: 'evil-org/deploy' })];
    for (const token of hostile) assert.equal((await host.exchange(token, TOKEN_TYPE.jwt)).status, 400);
    const good = await wi.mint();
    const r = await host.exchange(good, TOKEN_TYPE.jwt);
    assert.equal(r.status, 429, r.text);
    const wait = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After: ${String(r.headers['retry-after'])}`);
    assert.equal(r.body['access_token'], undefined);
    assert.equal(host.audit().at(-1)!['event'], 'auth.failed');
    assert.ok(!host.auditText().includes(good.split('.')[1]!));
  });

  it('a SIGHUP reload does not reset the failure count', async () => {
    await host.daemon.reload();
    assert.equal((await host.exchange(await wi.mint(), TOKEN_TYPE.jwt)).status, 429);
  });
});

describe('token endpoint: a workload token is exchanged once (jti)', () => {
  let wi: WorkloadIssuer;
  let host: TokenHost;
  before(async () => {
    wi = await startWorkloadIssuer();
    const other = '[servers.other]\ncommand = ["node", "other.js"]\nallow_groups = ["ci"]\n\n';
    host = await startTokenHost(
      wi.url,
      '',
      workloadTrust(wi.url).replace('[[trust.workload]]', `${other}[[trust.workload]]`),
    );
  });
  after(async () => {
    await host?.close();
    await wi?.close();
  });

  it('refuses the same workload token a second time: invalid_grant and auth.failed, without echoing it', async () => {
    const token = await wi.mint();
    assert.equal((await host.exchange(token, TOKEN_TYPE.jwt)).status, 200);
    const again = await host.exchange(token, TOKEN_TYPE.jwt);
    assert.equal(again.status, 400, again.text);
    assert.equal(again.body['error'], 'invalid_grant');
    assert.equal(host.audit().at(-1)!['event'], 'auth.failed');
    assert.ok(!again.text.includes(token.split('.')[1]!) && !host.auditText().includes(token.split('.')[1]!));
  });

  it('refuses another token re-using a spent jti, also after a SIGHUP reload, and for another resource', async () => {
    const first = await wi.mint({ jti: 'replayed-jti' });
    assert.equal((await host.exchange(first, TOKEN_TYPE.jwt)).status, 200);
    await host.daemon.reload();
    const second = await wi.mint({ jti: 'replayed-jti', iat: Math.floor(Date.now() / 1000) + 1 });
    assert.equal((await host.exchange(second, TOKEN_TYPE.jwt)).body['error'], 'invalid_grant');
    assert.equal(
      (await host.exchange(second, TOKEN_TYPE.jwt, { resource: 'urn:gatekit:server:other' })).body['error'],
      'invalid_grant',
    );
  });

  it('refuses a workload token without a jti', async () => {
    const r = await host.exchange(await wi.mint({ jti: undefined }), TOKEN_TYPE.jwt);
    assert.equal(r.body['error'], 'invalid_grant');
  });
});

describe('token endpoint over mutual TLS: issued tokens are bound to the presented certificate (RFC 8705)', () => {
  let wi: WorkloadIssuer;
  let host: TokenHost;
  let tokenPort: number;
  let mcpPort: number;
  const agents: Agent[] = [];
  const agent = (cert: string, key: string) => {
    const a = new Agent({
      connect: {
        ca: readFileSync(join(host.ws.dir, 'certs', 'ca.pem')),
        cert: readFileSync(cert),
        key: readFileSync(key),
      },
    });
    agents.push(a);
    return a;
  };
  const certs = (name: string) => join(host.ws.dir, 'certs', name);

  before(async () => {
    wi = await startWorkloadIssuer();
    [tokenPort, mcpPort] = [await freePort(), await freePort()];
    const notes = JSON.stringify([process.execPath, NOTES_SERVER]);
    const tlsServer = `[servers.tlsnotes]\ncommand = ${notes}\nlisten = "127.0.0.1:${mcpPort}"\nallow_groups = ["ci"]\n\n`;
    host = await startTokenHost(
      wi.url,
      'tls = { ca = "certs/ca.pem", cert = "certs/daemon.pem", key = "certs/daemon.key" }',
      workloadTrust(wi.url).replace('[[trust.workload]]', `${tlsServer}[[trust.workload]]`),
      { tokenListen: `127.0.0.1:${tokenPort}`, notesCommand: notes },
    );
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await host?.close();
    await wi?.close();
  });

  const exchangeOverTls = async (resource: string) => {
    const res = await request(`https://127.0.0.1:${tokenPort}/token`, {
      method: 'POST',
      dispatcher: agent(certs('client.pem'), certs('client.key')),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: GRANT,
        resource,
        subject_token: await wi.mint(),
        subject_token_type: TOKEN_TYPE.jwt,
      }).toString(),
    });
    const body = (await res.body.json()) as Record<string, string>;
    assert.equal(res.statusCode, 200, JSON.stringify(body));
    return body['access_token']!;
  };
  const initialize = async (url: string, token: string, dispatcher: Agent | undefined, hostHeader: string) => {
    const res = await request(url, {
      method: 'POST',
      body: INITIALIZE,
      ...(dispatcher ? { dispatcher } : {}),
      headers: { ...JSON_HEADERS, host: hostHeader, authorization: `Bearer ${token}` },
    });
    await res.body.text();
    return res.statusCode;
  };

  it('carries cnf.x5t#S256 of the client certificate, and is refused over the Unix socket (no certificate): 401', async () => {
    const token = await exchangeOverTls('urn:gatekit:server:notes');
    assert.deepEqual(decodePart(token, 1)['cnf'], { 'x5t#S256': certificateInfo(certs('client.pem')).thumbprint });
    const unix = new Agent({ connect: { socketPath: join(host.ws.dir, 'run', 'notes.sock') } });
    agents.push(unix);
    assert.equal(await initialize('http://localhost/mcp', token, unix, 'localhost'), 401);
  });

  it('is refused over mTLS with another certificate from the same CA (401), accepted with its own', async () => {
    const token = await exchangeOverTls('urn:gatekit:server:tlsnotes');
    const other = { cert: join(host.ws.dir, 'mallory', 'client.pem'), key: join(host.ws.dir, 'mallory', 'client.key') };
    await issueClientCertificate(certs('ca.pem'), other, 'mallory@example.com');
    const url = `https://127.0.0.1:${mcpPort}/mcp`;
    assert.equal(await initialize(url, token, agent(other.cert, other.key), `127.0.0.1:${mcpPort}`), 401);
    assert.equal(
      await initialize(url, token, agent(certs('client.pem'), certs('client.key')), `127.0.0.1:${mcpPort}`),
      200,
    );
  });
});
