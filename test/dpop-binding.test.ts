import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, DpopSession, StreamableHTTPClientTransport, withDpop } from '@modelcontextprotocol/client';
import { fetch as undiciFetch, request } from 'undici';
import { loadConfig } from '../lib/config/index.js';
import { certificateInfo } from '../lib/setup/index.js';
import { DpopKey, DpopReplayCache, verifyDpopProof } from '../lib/token/index.js';
import {
  daemonConfig,
  freePort,
  INITIALIZE,
  JSON_HEADERS,
  NOTES_SERVER,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';

describe('token_binding = "mtls" and DPoP over an mTLS listener', () => {
  let h: Harness;
  let certOnlyUrl: string;
  let tlsUrl: string;

  before(async () => {
    const port = await freePort();
    h = await startHarness(
      await daemonConfig(`
[servers.certonly]
command = ["${process.execPath}", "${NOTES_SERVER}"]
listen = "127.0.0.1:${port}"
allow_users = ["alice@example.com"]
token_binding = "mtls"
`),
    );
    certOnlyUrl = `https://127.0.0.1:${port}/mcp`;
    const tls = h.config.servers.get('tls')!.listen;
    tlsUrl = `https://127.0.0.1:${tls.kind === 'tcp' ? tls.port : 0}/mcp`;
  });
  after(async () => {
    await h.close();
  });

  const mint = (server: string, binding: { certThumbprint?: string; jkt?: string }) =>
    h.token(server, { sub: 'sub-alice', ...binding });

  const post = async (url: string, headers: Record<string, string>) => {
    const res = await request(url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...headers },
      body: INITIALIZE,
      dispatcher: h.mtls,
    });
    await res.body.dump();
    return res.statusCode;
  };

  it('refuses a bearer token and a DPoP-bound token with a valid proof; accepts a certificate-bound token', async () => {
    const sessions = h.daemon.sessions.size;
    assert.equal(await post(certOnlyUrl, { authorization: `Bearer ${await h.token('certonly')}` }), 401);
    const key = await DpopKey.generate();
    const bound = await mint('certonly', { jkt: key.jkt });
    assert.equal(
      await post(certOnlyUrl, { authorization: `DPoP ${bound}`, dpop: await key.proof('POST', certOnlyUrl, bound) }),
      401,
    );
    assert.equal(h.daemon.sessions.size, sessions, 'no child started');
    const thumbprint = certificateInfo(h.config.daemon.client_tls!.cert).thumbprint;
    assert.equal(
      await post(certOnlyUrl, { authorization: `Bearer ${await mint('certonly', { certThumbprint: thumbprint })}` }),
      200,
    );
  });

  it('is refused at load time for a Unix-socket listener (and a value outside "any", "dpop", "mtls")', () => {
    assert.equal(h.config.servers.get('certonly')!.token_binding, 'mtls');
    assert.equal(h.config.servers.get('notes')!.token_binding, 'any');
    for (const value of ['"mtls"', '"bearer"', 'true']) {
      const ws = workspace(
        basicConfig('http://127.0.0.1:9', `\n[servers.sock]\ncommand = ["node"]\ntoken_binding = ${value}\n`),
      );
      try {
        assert.throws(
          () => loadConfig({ config: ws.config }),
          (err: { code?: string }) => err.code === 'CONFIG_INVALID',
        );
      } finally {
        ws.remove();
      }
    }
  });

  it('the htu of an mTLS listener is https://127.0.0.1:PORT/mcp: the SDK v2 client with DPoP calls a tool over it', async () => {
    const session = await DpopSession.create({ alg: 'EdDSA' });
    const token = await mint('tls', { jkt: session.thumbprint });
    const viaMtls = ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: h.mtls } as never)) as typeof fetch;
    const transport = new StreamableHTTPClientTransport(new URL(tlsUrl), {
      fetch: withDpop(session, async () => token)(viaMtls),
      authProvider: { token: async () => token },
    });
    const client = new Client({ name: 'gatekit-dpop-mtls', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'over tls' } })), 'over tls');
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
    const key = await DpopKey.generate();
    const other = await mint('tls', { jkt: key.jkt });
    const wrongHtu = await key.proof('POST', 'http://localhost/mcp', other);
    assert.equal(await post(tlsUrl, { authorization: `DPoP ${other}`, dpop: wrongHtu }), 401);
  });
});

describe('the DPoP replay cache is bounded', () => {
  const check = (replays: DpopReplayCache, boundTo?: string) => ({
    method: 'POST',
    url: 'http://localhost/mcp',
    replays,
    boundTo,
  });
  const proofBy = (key: DpopKey) => key.proof('POST', 'http://localhost/mcp');
  const isDpopInvalid = (err: { code?: string }) => err.code === 'DPOP_INVALID';

  it("one key's flood fills only its own partition: another key's proof still passes", async () => {
    const replays = new DpopReplayCache(40, 10);
    const flooder = await DpopKey.generate();
    const other = await DpopKey.generate('EdDSA');
    for (let i = 0; i < 10; i++) await verifyDpopProof(await proofBy(flooder), check(replays));
    for (let i = 0; i < 5; i++)
      await assert.rejects(async () => verifyDpopProof(await proofBy(flooder), check(replays)), isDpopInvalid);
    assert.equal(replays.size, 10);
    const passed = await verifyDpopProof(await proofBy(other), check(replays));
    assert.equal(passed.jkt, other.jkt);
    // Its replay is still caught: the partition keeps replay protection for every key.
    const proof = await proofBy(other);
    await verifyDpopProof(proof, check(replays));
    await assert.rejects(async () => verifyDpopProof(proof, check(replays)), isDpopInvalid);
  });

  it('the whole cache is bounded too: full of live entries, every key is refused rather than forget one', async () => {
    const replays = new DpopReplayCache(4, 2);
    const keys = await Promise.all([DpopKey.generate(), DpopKey.generate(), DpopKey.generate()]);
    for (const key of keys.slice(0, 2))
      for (let i = 0; i < 2; i++) await verifyDpopProof(await proofBy(key), check(replays));
    await assert.rejects(async () => verifyDpopProof(await proofBy(keys[2]!), check(replays)), isDpopInvalid);
    assert.equal(replays.size, 4);
  });

  it("a proof by a key other than the token's (cnf.jkt) is refused before its jti is recorded", async () => {
    const replays = new DpopReplayCache(40, 10);
    const bound = await DpopKey.generate();
    const stranger = await DpopKey.generate();
    await assert.rejects(
      async () => verifyDpopProof(await proofBy(stranger), check(replays, bound.jkt)),
      (err: { code?: string }) => err.code === 'TOKEN_INVALID',
    );
    assert.equal(replays.size, 0);
    await verifyDpopProof(await proofBy(bound), check(replays, bound.jkt));
    assert.equal(replays.size, 1);
  });

  it('refuses new proofs when full of live ones, and makes room once they are outside the window', async () => {
    const key = await DpopKey.generate();
    const replays = new DpopReplayCache(2);
    const check = (now: number) => ({ method: 'POST', url: 'http://localhost/mcp', replays, now });
    const now = Date.now();
    await verifyDpopProof(await key.proof('POST', 'http://localhost/mcp'), check(now));
    await verifyDpopProof(await key.proof('POST', 'http://localhost/mcp'), check(now));
    const third = await key.proof('POST', 'http://localhost/mcp');
    await assert.rejects(
      async () => verifyDpopProof(third, check(now)),
      (err: { code?: string }) => err.code === 'DPOP_INVALID',
    );
    assert.equal(replays.size, 2);
    // 50 s on: the first two are still replayable (their iat is within 60 s), so still refused.
    await assert.rejects(
      async () => verifyDpopProof(third, check(now + 50_000)),
      (err: { code?: string }) => err.code === 'DPOP_INVALID',
    );
    // 62 s on, the old entries are outside the window and dropped to make room.
    replays.remember('another-key', 'later-jti', Math.floor((now + 62_000) / 1000), now + 62_000);
    assert.equal(replays.size, 1);
  });

  it('a sweep drops whole expired seconds; a jti reused after its expiry is recorded anew', () => {
    const replays = new DpopReplayCache(100, 3);
    const t0 = 1_800_000_000;
    const at = (s: number) => s * 1000;
    replays.remember('k', 'a', t0, at(t0));
    replays.remember('k', 'b', t0, at(t0));
    replays.remember('k', 'c', t0 + 10, at(t0 + 10));
    assert.throws(() => replays.remember('k', 'd', t0 + 10, at(t0 + 10)), isDpopInvalid);
    // 'a' and 'b' expire together; past their second the partition has room again, 'c' stays.
    replays.remember('k', 'd', t0 + 62, at(t0 + 62));
    assert.equal(replays.size, 2);
    assert.throws(() => replays.remember('k', 'c', t0 + 62, at(t0 + 62)), isDpopInvalid);
    // Once expired, 'c' may be used again (a fresh iat) and is then recorded with its new expiry.
    replays.remember('k', 'c', t0 + 75, at(t0 + 75));
    replays.remember('other', 'x', t0 + 80, at(t0 + 80));
    assert.throws(() => replays.remember('k', 'c', t0 + 80, at(t0 + 80)), isDpopInvalid);
    assert.equal(replays.size, 3);
  });
});
