import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, DpopSession, StreamableHTTPClientTransport, withDpop } from '@modelcontextprotocol/client';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { fetch as undiciFetch, request, type Dispatcher } from 'undici';
import { accessTokenHash, DpopKey } from '../lib/token/index.js';
import { brokerKey, signEd25519 } from './helpers/forge.js';
import {
  BROKER_ISSUER,
  daemonConfig,
  INITIALIZE,
  JSON_HEADERS,
  NOTES_SERVER,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

const URL_MCP = 'http://localhost/mcp';
const STRICT = `
[servers.strict]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com"]
tools = { allow = ["echo"] }
token_binding = "dpop"
`;

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';

/** A hand-signed proof: what a careless or hostile client can send. */
async function handProof(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  pair?: Awaited<ReturnType<typeof generateKeyPair>>,
): Promise<string> {
  const { publicKey, privateKey } = pair ?? (await generateKeyPair('ES256', { extractable: true }));
  const jwk = await exportJWK(publicKey);
  const payload = {
    jti: randomBytes(16).toString('base64url'),
    htm: 'POST',
    htu: URL_MCP,
    iat: Math.floor(Date.now() / 1000),
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...header }).sign(privateKey);
}

describe('DPoP (RFC 9449): the daemon takes DPoP-bound tokens only with a valid proof by their key', () => {
  let h: Harness;
  let via: Dispatcher;
  let strictVia: Dispatcher;
  let key: DpopKey;

  before(async () => {
    h = await startHarness(await daemonConfig(STRICT));
    via = h.unix('notes');
    strictVia = h.unix('strict');
    key = await DpopKey.generate();
  });
  after(async () => {
    await h.close();
  });

  const boundToken = (server: string, jkt: string) => h.token(server, { sub: 'sub-alice', jkt });

  const post = async (headers: Record<string, string>, dispatcher = via) => {
    const res = await request(URL_MCP, {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: 'localhost', ...headers },
      body: INITIALIZE,
      dispatcher,
    });
    const body = await res.body.text();
    if (res.statusCode === 200) {
      const session = res.headers['mcp-session-id'] as string;
      const del = { authorization: headers['authorization']!, 'mcp-session-id': session };
      if (headers['authorization']?.startsWith('DPoP')) {
        Object.assign(del, { dpop: await key.proof('DELETE', URL_MCP, headers['authorization'].slice(5)) });
      }
      await (
        await request(URL_MCP, { method: 'DELETE', headers: { host: 'localhost', ...del }, dispatcher })
      ).body.dump();
    }
    return { status: res.statusCode, challenge: String(res.headers['www-authenticate'] ?? ''), body };
  };

  /** Each refusal: 401 with a DPoP challenge, no child started, exactly one more auth.failed line. */
  const refused = async (headers: Record<string, string>, error: string, dispatcher = via) => {
    const sessions = h.daemon.sessions.size;
    const failures = h.audit().filter((l) => l['event'] === 'auth.failed').length;
    const r = await post(headers, dispatcher);
    assert.equal(r.status, 401, r.body);
    assert.match(r.challenge, new RegExp(`^DPoP error="${error}"`));
    assert.match(r.challenge, /algs="ES256 EdDSA PS256"/);
    assert.equal(h.daemon.sessions.size, sessions, 'no child started');
    assert.equal(h.audit().filter((l) => l['event'] === 'auth.failed').length, failures + 1, 'one auth.failed line');
  };

  it('accepts a bound token with a fresh proof by its key (and the token never reaches the audit log)', async () => {
    const token = await boundToken('notes', key.jkt);
    const r = await post({ authorization: `DPoP ${token}`, dpop: await key.proof('POST', URL_MCP, token) });
    assert.equal(r.status, 200, r.body);
    assert.ok(!JSON.stringify(h.audit()).includes(token));
  });

  it('refuses a bound token without a proof: as Bearer, or as DPoP with no DPoP header', async () => {
    const token = await boundToken('notes', key.jkt);
    const sessions = h.daemon.sessions.size;
    const bearer = await post({ authorization: `Bearer ${token}` });
    assert.equal(bearer.status, 401);
    assert.match(bearer.challenge, /error="invalid_token"/);
    assert.equal(h.daemon.sessions.size, sessions);
    assert.equal(h.audit().at(-1)?.['event'], 'auth.failed');
    await refused({ authorization: `DPoP ${token}` }, 'invalid_dpop_proof');
  });

  it('refuses a proof by another key', async () => {
    const token = await boundToken('notes', key.jkt);
    const other = await DpopKey.generate('EdDSA');
    await refused({ authorization: `DPoP ${token}`, dpop: await other.proof('POST', URL_MCP, token) }, 'invalid_token');
  });

  it('refuses a replayed proof', async () => {
    const token = await boundToken('notes', key.jkt);
    const proof = await key.proof('POST', URL_MCP, token);
    assert.equal((await post({ authorization: `DPoP ${token}`, dpop: proof })).status, 200);
    await refused({ authorization: `DPoP ${token}`, dpop: proof }, 'invalid_dpop_proof');
  });

  it('refuses a proof for another URL, another method or another token', async () => {
    const token = await boundToken('notes', key.jkt);
    await refused(
      { authorization: `DPoP ${token}`, dpop: await key.proof('POST', 'http://localhost/other', token) },
      'invalid_dpop_proof',
    );
    await refused(
      { authorization: `DPoP ${token}`, dpop: await key.proof('POST', 'https://localhost/mcp', token) },
      'invalid_dpop_proof',
    );
    await refused(
      { authorization: `DPoP ${token}`, dpop: await key.proof('GET', URL_MCP, token) },
      'invalid_dpop_proof',
    );
    const another = await boundToken('notes', key.jkt);
    await refused(
      { authorization: `DPoP ${token}`, dpop: await key.proof('POST', URL_MCP, another) },
      'invalid_dpop_proof',
    );
  });

  it('refuses a stale proof and one from the future (iat outside ±60 s)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const pair = await generateKeyPair('ES256', { extractable: true });
    // A token bound to the hand-made key, so that only freshness can fail.
    const token = await boundToken('notes', await calculateJwkThumbprint(await exportJWK(pair.publicKey), 'sha256'));
    const ath = accessTokenHash(token);
    assert.equal(
      (await post({ authorization: `DPoP ${token}`, dpop: await handProof({ iat: now - 50, ath }, {}, pair) })).status,
      200,
    );
    for (const iat of [now - 120, now + 120]) {
      await refused(
        { authorization: `DPoP ${token}`, dpop: await handProof({ iat, ath }, {}, pair) },
        'invalid_dpop_proof',
      );
    }
  });

  it('refuses hostile proofs: HS256, a private key in the jwk header, typ JWT, no jwk, two DPoP headers, garbage', async () => {
    const token = await boundToken('notes', key.jkt);
    const ath = accessTokenHash(token);
    const secret = new TextEncoder().encode('x'.repeat(32));
    const hs256 = await new SignJWT({
      jti: 'abcdefghijkl',
      htm: 'POST',
      htu: URL_MCP,
      iat: Math.floor(Date.now() / 1000),
      ath,
    })
      .setProtectedHeader({
        alg: 'HS256',
        typ: 'dpop+jwt',
        jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } as never,
      })
      .sign(secret);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const withPrivate = await new SignJWT({
      jti: 'abcdefghijkl',
      htm: 'POST',
      htu: URL_MCP,
      iat: Math.floor(Date.now() / 1000),
      ath,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: privateJwk as never })
      .sign(privateKey);
    const good = await key.proof('POST', URL_MCP, token);
    const hostile = [
      hs256,
      withPrivate,
      await handProof({ ath }, { typ: 'JWT' }),
      await handProof({ ath }, { jwk: undefined }),
      `${good}, ${await key.proof('POST', URL_MCP, token)}`,
      'not.a.jws',
      'a'.repeat(10_000),
    ];
    for (const dpop of hostile) await refused({ authorization: `DPoP ${token}`, dpop }, 'invalid_dpop_proof');
  });

  it('checks the token before the proof: a forged token with a garbage proof is invalid_token', async () => {
    const forged = `${(await boundToken('notes', key.jkt)).slice(0, -8)}AAAAAAAA`;
    await refused({ authorization: `DPoP ${forged}`, dpop: 'x.y.z' }, 'invalid_token');
  });

  it('refuses hostile cnf claims and malformed DPoP credentials, proof or not', async () => {
    const signer = brokerKey(join(h.ws.dir, 'keys', 'broker.jwk'));
    const forge = (cnf: unknown) => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: BROKER_ISSUER,
        sub: 'sub-alice',
        aud: 'urn:gatekit:server:notes',
        exp: now + 300,
        iat: now,
        cnf,
        jti: randomBytes(16).toString('base64url'),
        client_id: 'gatekit-cli',
        scope: 'tools:*',
        email: 'alice@example.com',
      };
      return signEd25519({ alg: 'EdDSA', typ: 'at+jwt', kid: signer.kid }, claims, signer.key);
    };
    const hostileCnf = [{ jkt: key.jkt, 'x5t#S256': 'abc' }, { jkt: 42 }, 'jkt', {}, null, { jkt: key.jkt, extra: 1 }];
    for (const cnf of hostileCnf) {
      const token = forge(cnf);
      await refused({ authorization: `DPoP ${token}`, dpop: await key.proof('POST', URL_MCP, token) }, 'invalid_token');
    }
    const sessions = h.daemon.sessions.size;
    for (const authorization of ['DPoP', 'DPoP a b', 'DPoP tok"en', 'DPoP tok;en']) {
      const r = await post({ authorization, dpop: await key.proof('POST', URL_MCP) });
      assert.equal(r.status, 400, authorization);
      assert.match(r.challenge, /error="invalid_request"/);
    }
    assert.equal(h.daemon.sessions.size, sessions);
  });

  it('refuses proofs without jti, htm or htu, with a short jti, or signed over another token', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const token = await boundToken('notes', await calculateJwkThumbprint(await exportJWK(pair.publicKey), 'sha256'));
    const ath = accessTokenHash(token);
    for (const claims of [
      { jti: undefined },
      { htm: undefined },
      { htu: undefined },
      { jti: 'short' },
      { htu: 'not a url' },
      {},
    ]) {
      await refused(
        { authorization: `DPoP ${token}`, dpop: await handProof({ ath: 'x', ...claims }, {}, pair) },
        'invalid_dpop_proof',
      );
      if (Object.keys(claims).length) {
        await refused(
          { authorization: `DPoP ${token}`, dpop: await handProof({ ath, ...claims }, {}, pair) },
          'invalid_dpop_proof',
        );
      }
    }
  });

  it('refuses an unbound token presented with the DPoP scheme', async () => {
    const token = await h.token('notes');
    await refused({ authorization: `DPoP ${token}`, dpop: await key.proof('POST', URL_MCP, token) }, 'invalid_token');
  });

  it('token_binding = "dpop" refuses a plain bearer token, and says DPoP when no token is sent', async () => {
    const token = await h.token('strict');
    await refused({ authorization: `Bearer ${token}` }, 'invalid_token', strictVia);
    const none = await post({}, strictVia);
    assert.equal(none.status, 401);
    assert.match(none.challenge, /^DPoP resource_metadata="[^"]+", algs="ES256 EdDSA PS256"$/);
    const bound = await boundToken('strict', key.jkt);
    assert.equal(
      (await post({ authorization: `DPoP ${bound}`, dpop: await key.proof('POST', URL_MCP, bound) }, strictVia)).status,
      200,
    );
  });

  it('the RFC 9728 metadata lists the DPoP algorithms and whether DPoP-bound tokens are required', async () => {
    for (const [server, required] of [
      ['strict', true],
      ['notes', false],
    ] as const) {
      const res = await request('http://localhost/.well-known/oauth-protected-resource', {
        headers: { host: 'localhost' },
        dispatcher: server === 'strict' ? strictVia : via,
      });
      const doc = (await res.body.json()) as Record<string, unknown>;
      assert.deepEqual(doc['dpop_signing_alg_values_supported'], ['ES256', 'EdDSA', 'PS256']);
      assert.equal(doc['dpop_bound_access_tokens_required'], required);
    }
  });

  it('token_binding = "any" (the default) still takes a plain bearer token', async () => {
    assert.equal((await post({ authorization: `Bearer ${await h.token('notes')}` })).status, 200);
  });

  it('the MCP SDK v2 client with its DPoP support (withDpop, DpopSession) calls a tool on a "dpop" server', async () => {
    const session = await DpopSession.create();
    const token = await boundToken('strict', session.thumbprint);
    const viaUnix = ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: strictVia } as never)) as typeof fetch;
    const transport = new StreamableHTTPClientTransport(new URL(URL_MCP), {
      fetch: withDpop(session, async () => token)(viaUnix),
      authProvider: { token: async () => token },
    });
    const client = new Client({ name: 'gatekit-dpop-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'bound' } })), 'bound');
      assert.ok(
        h
          .audit()
          .some(
            (l) =>
              l['event'] === 'request' && l['server'] === 'strict' && l['tool'] === 'echo' && l['outcome'] === 'ok',
          ),
      );
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });
});
