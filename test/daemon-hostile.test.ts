import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { brokerKey, signEd25519, signHs256, strangerKey, unsigned } from './helpers/forge.js';
import {
  BROKER_ISSUER,
  INITIALIZE,
  JSON_HEADERS,
  raw,
  sdkClient,
  endSession,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

describe('daemon: hostile requests', () => {
  let h: Harness;
  let key: ReturnType<typeof brokerKey>;
  const children = () => h.daemon.sessions.size;
  const claims = (o: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: BROKER_ISSUER,
      sub: 'sub-alice',
      aud: 'urn:gatekit:server:notes',
      exp: now + 300,
      iat: now,
      jti: randomBytes(16).toString('base64url'),
      client_id: 'gatekit-cli',
      scope: 'tools:*',
      email: 'alice@example.com',
      groups: [],
      ...o,
    };
  };
  const header = (o: Record<string, unknown> = {}) => ({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid, ...o });
  const init = (token: string | undefined, extra: Record<string, string> = {}) =>
    raw(
      h.unix('notes'),
      'POST',
      { ...JSON_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
      INITIALIZE,
    );

  before(async () => {
    h = await startHarness();
    key = brokerKey(join(h.ws.dir, 'keys', 'broker.jwk'));
  });
  after(async () => {
    await h.close();
  });

  it('no token: 401 with resource_metadata and no error parameter; the metadata names the resource', async () => {
    const r = await init(undefined);
    assert.equal(r.status, 401);
    assert.equal(
      r.headers['www-authenticate'],
      'Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource"',
    );
    const meta = await raw(h.unix('notes'), 'GET', {}, undefined, '/.well-known/oauth-protected-resource');
    const doc = JSON.parse(meta.body);
    assert.equal(doc.resource, 'urn:gatekit:server:notes');
    assert.deepEqual(doc.authorization_servers, [BROKER_ISSUER]);
    assert.deepEqual(doc.bearer_methods_supported, ['header']);
    assert.ok(doc.scopes_supported.includes('tools:read_note'));
  });

  const hostileTokens: Array<[string, () => string]> = [
    ['garbage', () => 'garbage'],
    [
      'expired',
      () =>
        signEd25519(
          header(),
          claims({ iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 300 }),
          key.key,
        ),
    ],
    ['wrong aud', () => signEd25519(header(), claims({ aud: 'urn:gatekit:server:everything' }), key.key)],
    ['wrong iss', () => signEd25519(header(), claims({ iss: 'urn:gatekit:broker:evil' }), key.key)],
    ['wrong typ', () => signEd25519(header({ typ: 'JWT' }), claims(), key.key)],
    ['alg none', () => unsigned({ alg: 'none', typ: 'at+jwt', kid: key.kid }, claims())],
    [
      'HS256 keyed with the public key',
      () => signHs256({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, claims(), Buffer.from(key.x, 'base64url')),
    ],
    ['untrusted key', () => signEd25519(header({ kid: 'attacker' }), claims(), strangerKey())],
    ['trusted kid, other key', () => signEd25519(header(), claims(), strangerKey())],
    [
      'tampered',
      () => {
        const [a, , c] = signEd25519(header(), claims({ scope: 'tools:read_note' }), key.key).split('.');
        return `${a}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.${c}`;
      },
    ],
  ];
  for (const [name, make] of hostileTokens) {
    it(`${name} token: 401 invalid_token, no child started`, async () => {
      const before = children();
      const r = await init(make());
      assert.equal(r.status, 401, r.body);
      assert.match(
        String(r.headers['www-authenticate']),
        /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/,
      );
      assert.equal(children(), before);
    });
  }

  it('a person the current policy refuses: 403 insufficient_scope, no child', async () => {
    const before = children();
    const r = await init(signEd25519(header(), claims({ email: 'mallory@example.com', sub: 'sub-mallory' }), key.key));
    assert.equal(r.status, 403);
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope"/);
    assert.equal(children(), before);
  });

  it('tokens in the query string or a cookie are ignored', async () => {
    const token = await h.token('notes');
    const res = await request(`http://localhost/mcp?access_token=${token}`, {
      method: 'POST',
      headers: { host: 'localhost', ...JSON_HEADERS, cookie: `access_token=${token}` },
      body: INITIALIZE,
      dispatcher: h.unix('notes'),
    });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
  });

  it("another user's session: refused, and the session is unharmed", async () => {
    const alice = await sdkClient(h, 'notes', await h.token('notes'));
    const sessionId = (alice.transport as { sessionId?: string }).sessionId!;
    const bob = await h.token('notes', { user: 'bob@example.com', sub: 'sub-bob', groups: ['ops'] });
    const r = await raw(
      h.unix('notes'),
      'POST',
      {
        ...JSON_HEADERS,
        authorization: `Bearer ${bob}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-06-18',
      },
      JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'read_note', arguments: { name: 'welcome' } },
      }),
    );
    assert.equal(r.status, 403);
    const del = await raw(h.unix('notes'), 'DELETE', { authorization: `Bearer ${bob}`, 'mcp-session-id': sessionId });
    assert.equal(del.status, 403);
    assert.ok(await alice.callTool({ name: 'list_notes', arguments: {} }));
    await endSession(alice);
  });

  const doorChecks: Array<[string, Record<string, string>, number]> = [
    ['a foreign Origin', { origin: 'http://evil.example' }, 403],
    ['a Host that is not loopback (DNS rebinding)', { host: 'evil.example' }, 403],
    ['an unsupported MCP-Protocol-Version', { 'mcp-protocol-version': '1999-01-01' }, 400],
    ['an unknown session', { 'mcp-session-id': 'no-such-session' }, 404],
    ['a non-JSON content type', { 'content-type': 'text/plain' }, 415],
  ];
  for (const [name, extra, status] of doorChecks) {
    it(`${name}: ${status}, no child`, async () => {
      const before = children();
      const r = await init(await h.token('notes'), extra);
      assert.equal(r.status, status, r.body);
      assert.equal(children(), before);
    });
  }

  it('an oversized body: 413; a malformed body: 400 parse error; neither starts a child', async () => {
    const token = await h.token('notes');
    const before = children();
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { pad: 'x'.repeat(h.config.daemon.limits.max_body_bytes) },
    });
    const r = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, big);
    assert.equal(r.status, 413);
    const bad = await raw(
      h.unix('notes'),
      'POST',
      { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      '{"jsonrpc": "2.0", "id": 1, "method": ',
    );
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error.code, -32700);
    const notRpc = await raw(
      h.unix('notes'),
      'POST',
      { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      '{"hello": "world"}',
    );
    assert.equal(notRpc.status, 400);
    assert.equal(children(), before);
  });

  it('a tool outside the scope never reaches the child: JSON-RPC error and a denied audit line', async () => {
    const client = await sdkClient(h, 'notes', await h.token('notes', { scope: 'tools:read_note' }));
    try {
      const err = await client.callTool({ name: 'crash', arguments: {} }).catch((e: Error) => e);
      assert.match(String(err), /not allowed/);
      assert.ok(
        await client.callTool({ name: 'read_note', arguments: { name: 'welcome' } }),
        'the child is alive: crash never ran',
      );
      assert.ok(
        h.audit().some((l) => l['event'] === 'denied' && l['tool'] === 'crash' && l['user'] === 'alice@example.com'),
      );
    } finally {
      await endSession(client);
    }
  });

  it('a tool the token allows but the current deny list forbids is refused', async () => {
    const toml = readFileSync(h.ws.config, 'utf8');
    h.ws.write(
      toml.replace(
        'tools = { allow = ["list_notes", "read_note", "echo", "whoami", "env", "slow", "ask", "crash", "hang"] }',
        'tools = { allow = ["list_notes", "read_note", "echo", "whoami", "env", "slow", "ask", "crash", "hang"], deny = ["echo"] }',
      ),
    );
    await h.daemon.reload();
    const client = await sdkClient(h, 'notes', await h.token('notes'));
    try {
      assert.match(
        String(await client.callTool({ name: 'echo', arguments: { message: 'x' } }).catch((e: Error) => e)),
        /-32003: servers\.notes\.tools\.deny: tool "echo" is denied/,
      );
      assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'echo'));
    } finally {
      await endSession(client);
      h.ws.write(toml);
      await h.daemon.reload();
    }
  });

  it("a per-user not-before time revokes that user's outstanding tokens at the next request", async () => {
    const client = await sdkClient(h, 'notes', await h.token('notes'));
    assert.ok(await client.callTool({ name: 'list_notes', arguments: {} }));
    const toml = readFileSync(h.ws.config, 'utf8');
    h.ws.write(
      toml.replace(
        '[daemon.limits]',
        `[daemon.not_before]\n"alice@example.com" = ${new Date(Date.now() + 2000).toISOString()}\n\n[daemon.limits]`,
      ),
    );
    await h.daemon.reload();
    try {
      assert.match(
        String(await client.callTool({ name: 'list_notes', arguments: {} }).catch((e: Error) => e)),
        /401|revoked/,
      );
      assert.ok(h.audit().some((l) => l['event'] === 'auth.failed' && /revoked/.test(String(l['error']))));
    } finally {
      h.ws.write(toml);
      await h.daemon.reload();
      await client.close();
    }
  });

  it("mTLS listener: a client without a certificate is refused at the handshake; one with the CA's client certificate gets in", async () => {
    const listen = h.config.servers.get('tls')!.listen;
    const port = listen.kind === 'tcp' ? listen.port : 0;
    const withCert = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: h.mtls });
    assert.equal(withCert.statusCode, 200);
    await withCert.body.dump();
    const refused = once(h.daemon.listeners.get('tls')!, 'tlsClientError');
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(h.config.daemon.tls!.ca) });
    socket.once('secureConnect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    socket.on('data', () => assert.fail('the daemon answered a client without a certificate'));
    const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'); // RFC 8446 §6.2 certificate_required
    const [serverSide] = (await refused) as [NodeJS.ErrnoException];
    assert.match(String(serverSide.code), /PEER_DID_NOT_RETURN_A_CERTIFICATE/);
  });

  it('after all that, the daemon is up', async () => {
    const r = await raw(h.unix('notes'), 'GET', {}, undefined, '/healthz');
    assert.equal(r.status, 200);
  });
});
