import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK } from 'jose';
import { loadConfig } from '../lib/config/index.js';
import { writeFileAtomic } from '../lib/files.js';
import { startDaemon } from '../lib/daemon/index.js';
import { initialize } from '../lib/setup/index.js';
import {
  generateSigningJwk,
  loadSigningKey,
  loadTrustedKeys,
  mintAccessToken,
  publicJwk,
  verifyAccessToken,
  VerifiedTokenCache,
  type PublicJwk,
  type SigningKey,
  type TrustedKeyOptions,
} from '../lib/token/index.js';
import { gatekit } from './helpers/cli.js';
import { BROKER_ISSUER, daemonConfig, INITIALIZE, JSON_HEADERS, raw, startHarness } from './helpers/daemon-harness.js';
import { skipUnlessOtherUser, startAsOtherUser } from './helpers/other-user.js';
import { workspace, type Workspace } from './helpers/workspace.js';
import { Agent } from 'undici';

const AUDIENCE = 'urn:gatekit:server:notes';
const JSON_TYPE = { 'content-type': 'application/json' };
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function newKey(): Promise<{ signing: SigningKey; public: PublicJwk }> {
  const jwk = await generateSigningJwk();
  return { signing: { kid: jwk.kid, key: await importJWK(jwk, 'EdDSA') }, public: publicJwk(jwk) };
}

async function tokenBy(key: SigningKey, resource = AUDIENCE): Promise<string> {
  return (
    await mintAccessToken(key, {
      identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
      issuer: BROKER_ISSUER,
      resource,
      scope: 'tools:*',
      clientId: 'gatekit-cli',
      userClaim: 'email',
      ttl: 300,
    })
  ).token;
}

/** A real server whose answer the test changes as it goes; counts the requests it got. */
class KeyServer {
  handler: Handler = (_req, res) => {
    res.writeHead(404).end();
  };
  requests = 0;
  readonly server: Server;
  constructor(tls?: { cert: Buffer; key: Buffer }) {
    const handle: Handler = (req, res) => {
      this.requests++;
      this.handler(req, res);
    };
    this.server = tls ? createHttpsServer(tls, handle) : createHttpServer(handle);
  }
  async listen(port = 0): Promise<this> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  serve(keys: PublicJwk[]): void {
    this.handler = (_req, res) => res.writeHead(200, JSON_TYPE).end(JSON.stringify({ keys }));
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('trusted keys from a URL', () => {
  let ws: Workspace;
  let tls: { cert: Buffer; key: Buffer };
  let ca: Buffer;
  let a: Awaited<ReturnType<typeof newKey>>;
  let b: Awaited<ReturnType<typeof newKey>>;
  const servers: KeyServer[] = [];
  const https = async (port = 0) => {
    const s = await new KeyServer(tls).listen(port);
    servers.push(s);
    return s;
  };
  const http = async (port = 0) => {
    const s = await new KeyServer().listen(port);
    servers.push(s);
    return s;
  };
  /** The same server, answering normally, is trusted: what a refusal test refuses is the misbehaviour alone. */
  const servesKeys = async (s: KeyServer) => {
    const misbehaviour = s.handler;
    s.serve([a.public]);
    assert.ok((await loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca })).byKid.has(a.public.kid));
    s.handler = misbehaviour;
  };
  const verify = (token: string, keys: Awaited<ReturnType<typeof loadTrustedKeys>>) =>
    verifyAccessToken(token, { keys, issuers: [BROKER_ISSUER], audience: AUDIENCE });

  before(async () => {
    ws = workspace(await daemonConfig());
    await initialize(loadConfig({ config: ws.config }), { force: false });
    const pem = (name: string) => readFileSync(join(ws.dir, 'certs', name));
    tls = { cert: pem('daemon.pem'), key: pem('daemon.key') };
    ca = pem('ca.pem');
    [a, b] = await Promise.all([newKey(), newKey()]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    ws.remove();
  });

  it('plain http is refused at config load (exit 2), loopback included; https is fine; loopback http only under [dev]', async () => {
    const base = await daemonConfig();
    const withKeys = async (url: string) => base.replace('[daemon]\n', `[daemon]\ntrusted_keys = "${url}"\n`);
    const refused = [
      'http://keys.example.com/jwks',
      'http://10.0.0.1/jwks',
      'http://127.0.0.1.example.com/jwks',
      'https://',
      'http://127.0.0.1:9/jwks',
      'http://[::1]:9/jwks',
      'http://localhost:9/jwks',
    ];
    for (const url of refused) {
      ws.write(await withKeys(url));
      assert.throws(() => loadConfig({ config: ws.config }), { code: 'CONFIG_INVALID' }, url);
    }
    ws.write(await withKeys('http://127.0.0.1:9/jwks'));
    const run = await gatekit(['daemon'], { env: ws.env });
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr.split('\n')[0]!,
      new RegExp(`${ws.config}: "daemon.trusted_keys" = "http://127.0.0.1:9/jwks" is plain http`),
    );
    assert.match(run.stderr, /file|https/);
    ws.write(await withKeys('https://keys.example.com/jwks'));
    assert.equal(loadConfig({ config: ws.config }).daemon.trusted_keys, 'https://keys.example.com/jwks');
    for (const url of ['http://127.0.0.1:9/jwks', 'http://[::1]:9/jwks', 'http://localhost:9/jwks']) {
      ws.write(`[dev]\n${await withKeys(url)}`);
      assert.equal(loadConfig({ config: ws.config }).daemon.trusted_keys, url, `${url} under [dev]`);
    }
    ws.write(`[dev]\n${await withKeys('http://keys.example.com/jwks')}`);
    assert.throws(
      () => loadConfig({ config: ws.config }),
      { code: 'CONFIG_INVALID' },
      'off loopback, even under [dev]',
    );
  });

  it('another user (uid nobody) serving a forged JWKS on the loopback key port: the daemon refuses the config, never asks them', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const forger = await newKey();
    const squatter = startAsOtherUser(
      t,
      user,
      `import { createServer } from 'node:http';
       const body = JSON.stringify({ keys: [JSON.parse(process.argv[1])] });
       const server = createServer((req, res) => { console.log('asked ' + req.url); res.writeHead(200, { 'content-type': 'application/json' }).end(body); });
       server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));`,
      [JSON.stringify(forger.public)],
    );
    const port = Number((await squatter.waitFor(/^port \d+$/)).slice(5));
    const forged = await tokenBy(forger.signing);
    // The attack works against a [dev] config (what plain http means): the forged token verifies.
    const devKeys = await loadTrustedKeys(`http://127.0.0.1:${port}/jwks`, {});
    assert.equal((await verify(forged, devKeys)).sub, 'sub-alice');
    const asked = squatter.lines.length;
    const dws = workspace(
      (await daemonConfig()).replace('[daemon]\n', `[daemon]\ntrusted_keys = "http://127.0.0.1:${port}/jwks"\n`),
    );
    t.after(() => dws.remove());
    const run = await gatekit(['daemon'], { env: dws.env, timeoutMs: 20_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /"daemon\.trusted_keys" = "http:\/\/127\.0\.0\.1:\d+\/jwks" is plain http/);
    assert.deepEqual(squatter.lines.slice(asked), [], 'the daemon never asked the squatter for keys');
  });

  it('loads keys over https and verifies a token signed by one of them', async () => {
    const s = await https();
    s.serve([a.public]);
    const keys = await loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca });
    assert.equal((await verify(await tokenBy(a.signing), keys)).sub, 'sub-alice');
  });

  it('refuses a redirect from https to http, even to loopback, and never asks the http server', async () => {
    const plain = await http();
    plain.serve([a.public]);
    const s = await https();
    s.handler = (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${plain.port}/jwks` }).end();
    await servesKeys(s);
    await assert.rejects(loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca }), { code: 'KEY_INVALID' });
    assert.equal(plain.requests, 0);
  });

  it('follows up to 3 https redirects, each re-checked; a fourth is refused', async () => {
    const s = await https();
    s.handler = (req, res) => {
      const hop = Number(/\/hop(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      if (req.url === '/jwks') return res.writeHead(200, JSON_TYPE).end(JSON.stringify({ keys: [a.public] }));
      res.writeHead(307, { location: hop > 1 ? `/hop${hop - 1}` : '/jwks' }).end();
    };
    const keys = await loadTrustedKeys(`https://127.0.0.1:${s.port}/hop3`, { ca });
    assert.ok(keys.byKid.has(a.public.kid));
    await assert.rejects(loadTrustedKeys(`https://127.0.0.1:${s.port}/hop4`, { ca }), { code: 'KEY_INVALID' });
  });

  it('refuses an endless body without reading it all: the connection is dropped mid-stream', async () => {
    const s = await https();
    let sent = 0;
    const dropped = new Promise<void>((resolve) => {
      s.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        };
        res.on('drain', pump);
        res.on('close', () => resolve());
        res.write('{"keys":[');
        pump();
      };
    });
    await servesKeys(s);
    await assert.rejects(loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca }), { code: 'KEY_INVALID' });
    await dropped;
    assert.ok(sent < 64 * 1024 * 1024, `the server was cut off after ${sent} bytes`);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    const s = await https();
    s.handler = (_req, res) => {
      res.writeHead(200, { ...JSON_TYPE, 'content-length': String(10 * 1024 * 1024) });
      res.write('{');
    };
    await servesKeys(s);
    await assert.rejects(loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca }), { code: 'KEY_INVALID' });
  });

  it('gives up on a server that never answers (timeout)', async () => {
    const s = await https();
    s.handler = () => {
      /* never answers */
    };
    await servesKeys(s);
    const url = `https://127.0.0.1:${s.port}/jwks`;
    await assert.rejects(loadTrustedKeys(url, { ca, timeoutMs: 200 }), { code: 'KEY_INVALID' });
  });

  it('an unknown kid makes the source fetch again, and the new key verifies', async () => {
    const s = await https();
    s.serve([a.public]);
    const keys = await loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca, minRefreshMs: 0 });
    s.serve([b.public, a.public]);
    assert.equal((await verify(await tokenBy(b.signing), keys)).sub, 'sub-alice');
    assert.equal(s.requests, 2);
  });

  it('a key dropped from the set stops working, even for a token the daemon verified before', async () => {
    const s = await https();
    s.serve([a.public]);
    const keys = await loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca, minRefreshMs: 0 });
    const cache = new VerifiedTokenCache();
    const check = (token: string) => cache.verify(token, { keys, issuers: [BROKER_ISSUER], audience: AUDIENCE });
    const token = await tokenBy(a.signing);
    assert.equal((await check(token)).sub, 'sub-alice');
    assert.equal((await check(token)).sub, 'sub-alice');
    s.serve([b.public]);
    assert.equal((await check(await tokenBy(b.signing))).sub, 'sub-alice'); // an unknown kid: fetched again
    await assert.rejects(check(token), { code: 'TOKEN_INVALID' });
  });

  it('unknown kids cause at most one fetch per interval (a clock, not a sleep)', async () => {
    let now = 1_000_000;
    const s = await https();
    s.serve([a.public]);
    const keys = await loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, { ca, now: () => now });
    s.serve([b.public, a.public]);
    const token = await tokenBy(b.signing);
    await assert.rejects(verify(token, keys), { code: 'TOKEN_INVALID' });
    await assert.rejects(verify(token, keys), { code: 'TOKEN_INVALID' });
    assert.equal(s.requests, 1);
    now += 30_000;
    assert.equal((await verify(token, keys)).sub, 'sub-alice');
    assert.equal(s.requests, 2);
  });

  it('keys older than their lifetime are fetched again on use; a failed fetch keeps the last good keys', async () => {
    let now = 5_000_000;
    const said: string[] = [];
    const s = await https();
    s.serve([a.public]);
    const options: TrustedKeyOptions = { ca, now: () => now, say: (line) => said.push(line) };
    const keys = await loadTrustedKeys(`https://127.0.0.1:${s.port}/jwks`, options);
    const failed = new Promise<void>((resolve) => {
      s.handler = (_req, res) => {
        res.writeHead(500).end();
        resolve();
      };
    });
    now += 10 * 60_000;
    assert.ok(keys.byKid.has(a.public.kid)); // stale: answers with what it has, refetches behind
    await failed;
    now += 30_000;
    await assert.rejects(verify(await tokenBy(b.signing), keys), { code: 'TOKEN_INVALID' });
    assert.equal((await verify(await tokenBy(a.signing), keys)).sub, 'sub-alice');
    assert.ok(
      said.some((l) => /keeping 1 known key/.test(l)),
      said.join('\n'),
    );
    assert.ok(!said.join('\n').includes('eyJ'), 'no token in what the source says');
  });

  it('the daemon starts while the key URL is unreachable, says so, and serves once the URL answers', async () => {
    const probe = await https();
    const port = probe.port;
    await probe.close();
    const url = `https://127.0.0.1:${port}/jwks`;
    const dws = workspace((await daemonConfig()).replace('[daemon]\n', `[daemon]\ntrusted_keys = "${url}"\n`));
    after(() => dws.remove());
    const config = loadConfig({ config: dws.config });
    await initialize(config, { force: false });
    const said: string[] = [];
    const daemon = await startDaemon(config, (line) => said.push(line), { trustedKeys: { minRefreshMs: 0, ca } });
    const socketPath = (config.servers.get('notes')!.listen as { path: string }).path;
    const agent = new Agent({ connect: { socketPath } });
    after(async () => {
      await daemon.stop();
      await agent.close();
    });
    assert.ok(
      said.some((l) => l.includes(url)),
      said.join('\n'),
    );
    const token = await tokenBy(a.signing);
    const refused = await raw(agent, 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(refused.status, 401);
    const s = await https(port);
    s.serve([a.public]);
    const served = await raw(agent, 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(served.status, 200, served.body);
    const session = String(served.headers['mcp-session-id']);
    await raw(agent, 'DELETE', { authorization: `Bearer ${token}`, 'mcp-session-id': session });
  });
});

describe('trusted keys from a file', () => {
  it('"gatekit keys rotate" takes effect at a running daemon without a signal; old tokens keep working', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    const old = await h.token('notes');
    const rotated = await gatekit(['keys', 'rotate'], { env: h.ws.env });
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = await loadSigningKey(join(h.ws.dir, 'keys', 'broker.jwk'));
    assert.equal(rotated.stdout.trim(), fresh.kid);
    assert.notEqual(fresh.kid, h.key.kid);
    for (const token of [await tokenBy(fresh), old]) {
      const r = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
      assert.equal(r.status, 200, r.body);
      const session = String(r.headers['mcp-session-id']);
      await raw(h.unix('notes'), 'DELETE', { authorization: `Bearer ${token}`, 'mcp-session-id': session });
    }
    const stranger = await newKey();
    const foreign = await tokenBy(stranger.signing);
    const r = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${foreign}` }, INITIALIZE);
    assert.equal(r.status, 401);
  });

  it('an unknown kid re-reads the file once it changed on disk; a broken file keeps the last good keys', async (t) => {
    const now = 1_000_000;
    const ws = workspace(await daemonConfig());
    t.after(() => ws.remove());
    const [a, b] = await Promise.all([newKey(), newKey()]);
    const file = join(ws.dir, 'keys.jwks');
    writeFileSync(file, JSON.stringify({ keys: [a.public] }));
    const keys = await loadTrustedKeys(file, { now: () => now });
    const verify = (token: string) => verifyAccessToken(token, { keys, issuers: [BROKER_ISSUER], audience: AUDIENCE });
    await assert.rejects(verify(await tokenBy(b.signing)), { code: 'TOKEN_INVALID' });
    writeFileAtomic(file, JSON.stringify({ keys: [b.public, a.public] }), 0o644);
    assert.equal((await verify(await tokenBy(b.signing))).sub, 'sub-alice');
    writeFileSync(file, '{ not json');
    await assert.rejects(verify(await tokenBy((await newKey()).signing)), { code: 'TOKEN_INVALID' });
    assert.equal((await verify(await tokenBy(a.signing))).sub, 'sub-alice', 'a broken file keeps the last good keys');
  });
});
