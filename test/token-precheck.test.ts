import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { importJWK } from 'jose';
import {
  generateSigningJwk,
  loadTrustedKeys,
  mintAccessToken,
  publicJwk,
  verifyAccessToken,
  type SigningKey,
  type TrustedKeys,
} from '../lib/token/index.js';
import { decodePart, signEd25519, signHs256, strangerKey, unsigned } from './helpers/forge.js';

const ISSUER = 'urn:gatekit:broker:test';
const AUDIENCE = 'urn:gatekit:server:notes';

// The pre-check is proved by what it spares: jose's WebCrypto verify (a thread-pool round trip) is
// counted here, in the test only, by wrapping the process's own crypto.subtle.verify.
const subtle = globalThis.crypto.subtle;
const webCryptoVerify = subtle.verify;
let webCryptoVerifies = 0;

describe('a badly signed token is refused by a synchronous Ed25519 pre-check before jose', () => {
  let dir: string;
  let keys: TrustedKeys;
  let signing: SigningKey;
  let privateKey: KeyObject;
  let x: string;

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (overrides: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    sub: 'sub-alice',
    aud: AUDIENCE,
    exp: now() + 300,
    iat: now(),
    jti: 'jti-0123456789abcdef',
    ...overrides,
  });
  const header = (overrides: Record<string, unknown> = {}) => ({
    alg: 'EdDSA',
    typ: 'at+jwt',
    kid: signing.kid,
    ...overrides,
  });
  const verify = (token: string, trusted = keys) =>
    verifyAccessToken(token, { keys: trusted, issuers: [ISSUER], audience: AUDIENCE });
  const mint = async () =>
    (
      await mintAccessToken(signing, {
        identity: { user: 'alice@example.com', sub: 'sub-alice', groups: ['eng'] },
        issuer: ISSUER,
        resource: AUDIENCE,
        scope: 'tools:*',
        clientId: 'gatekit-cli',
        userClaim: 'email',
        ttl: 300,
      })
    ).token;
  const withSignature = (token: string, signature: Buffer) =>
    `${token.slice(0, token.lastIndexOf('.'))}.${signature.toString('base64url')}`;
  const signatureOf = (token: string) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  const BAD_SIGNATURE = { code: 'TOKEN_INVALID', message: 'signature verification failed' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-precheck-'));
    const jwk = await generateSigningJwk();
    signing = { kid: jwk.kid, key: await importJWK(jwk, 'EdDSA') };
    privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    x = jwk.x!;
    const jwks = join(dir, 'broker.jwks');
    writeFileSync(jwks, JSON.stringify({ keys: [publicJwk(jwk)] }));
    keys = await loadTrustedKeys(jwks, { minRefreshMs: 0 });
    subtle.verify = function (this: typeof subtle, ...args: Parameters<typeof webCryptoVerify>) {
      webCryptoVerifies++;
      return webCryptoVerify.apply(this, args);
    };
  });
  beforeEach(() => {
    webCryptoVerifies = 0;
  });
  after(() => {
    subtle.verify = webCryptoVerify;
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad signature before the next macrotask, without a WebCrypto verify', async () => {
    const bad = withSignature(await mint(), Buffer.alloc(64, 7));
    let macrotaskRan = false;
    const macrotask = new Promise<void>((resolve) =>
      setImmediate(() => {
        macrotaskRan = true;
        resolve();
      }),
    );
    const settledBeforeMacrotask = await verify(bad).then(
      () => assert.fail('a bad signature was accepted'),
      (err: { code?: string }) => {
        assert.equal(err.code, 'TOKEN_INVALID');
        return !macrotaskRan;
      },
    );
    await macrotask;
    assert.equal(webCryptoVerifies, 0, 'no thread-pool round trip for a bad signature');
    assert.ok(settledBeforeMacrotask, 'the refusal settled before a setImmediate queued just before the call');
  });

  it('refuses a token with one flipped signature byte with the bad-signature error, in-process', async () => {
    const token = await mint();
    for (const index of [0, 31, 63]) {
      const signature = signatureOf(token);
      signature[index]! ^= 0x01;
      await assert.rejects(verify(withSignature(token, signature)), BAD_SIGNATURE);
    }
    assert.equal(webCryptoVerifies, 0);
  });

  it('refuses a token signed by another Ed25519 key under the trusted kid, in-process', async () => {
    await assert.rejects(verify(signEd25519(header(), claims(), strangerKey())), BAD_SIGNATURE);
    assert.equal(webCryptoVerifies, 0);
  });

  it('refuses a tampered payload under the original signature, in-process', async () => {
    const [h, , s] = (await mint()).split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodePart(await mint(), 1), scope: 'tools:* admin' }));
    await assert.rejects(verify(`${h}.${payload.toString('base64url')}.${s}`), BAD_SIGNATURE);
    assert.equal(webCryptoVerifies, 0);
  });

  it('refuses a signature of the wrong length with the bad-signature error, in-process', async () => {
    const token = await mint();
    await assert.rejects(verify(withSignature(token, signatureOf(token).subarray(0, 63))), BAD_SIGNATURE);
    await assert.rejects(
      verify(withSignature(token, Buffer.concat([signatureOf(token), Buffer.of(0)]))),
      BAD_SIGNATURE,
    );
    assert.equal(webCryptoVerifies, 0);
  });

  it('refuses a signature that is not base64url at all as a malformed token', async () => {
    const token = await mint();
    // 86 + 3 characters: a length of 1 mod 4 is no base64url text at all.
    await assert.rejects(verify(`${token}AAA`), { code: 'TOKEN_INVALID', message: /malformed/ });
  });

  const otherAlgorithms: Array<[string, () => string]> = [
    ['alg none', () => unsigned(header({ alg: 'none' }), claims())],
    ['alg none with a signature part', () => `${unsigned(header({ alg: 'none' }), claims())}AAAA`],
    [
      'HS256 keyed with the public key',
      () => signHs256(header({ alg: 'HS256' }), claims(), Buffer.from(x, 'base64url')),
    ],
    ['HS256 keyed with the public key text', () => signHs256(header({ alg: 'HS256' }), claims(), x)],
    [
      'alg Ed25519, a good signature but not the pinned name',
      () => signEd25519(header({ alg: 'Ed25519' }), claims(), privateKey),
    ],
    ['no alg, a good signature', () => signEd25519({ typ: 'at+jwt', kid: signing.kid }, claims(), privateKey)],
  ];
  for (const [name, make] of otherAlgorithms) {
    it(`refuses ${name} under the trusted kid (alg stays pinned to EdDSA)`, async () => {
      await assert.rejects(verify(make()), { code: 'TOKEN_INVALID' });
      assert.equal(webCryptoVerifies, 0, 'never reaches a signature check');
    });
  }

  it('refuses an unknown kid as untrusted, looking for it once per token', async () => {
    let lookups = 0;
    const counting: TrustedKeys = {
      byKid: keys.byKid,
      refresh: (kid) => {
        lookups++;
        return keys.refresh!(kid);
      },
    };
    await assert.rejects(verify(signEd25519(header({ kid: 'someone-else' }), claims(), strangerKey()), counting), {
      code: 'TOKEN_INVALID',
      message: 'token signed by an untrusted key',
    });
    await assert.rejects(verify(signEd25519({ alg: 'EdDSA', typ: 'at+jwt' }, claims(), privateKey)), {
      code: 'TOKEN_INVALID',
      message: 'token header has no kid',
    });
    assert.equal(lookups, 1);
  });

  it('still verifies a good token through jose, its claims unchanged', async () => {
    const token = await mint();
    assert.deepEqual(await verify(token), decodePart(token, 1));
    assert.equal(webCryptoVerifies, 1, 'jose checked the signature too');
  });

  it('leaves an expired token with a good signature to jose: TOKEN_EXPIRED as before', async () => {
    const expired = signEd25519(header(), claims({ iat: now() - 900, exp: now() - 300 }), privateKey);
    await assert.rejects(verify(expired), { code: 'TOKEN_EXPIRED' });
    assert.equal(webCryptoVerifies, 1, 'jose checked the signature, then the expiry');
  });

  it('leaves a good signature with a wrong typ to jose, which refuses it as before', async () => {
    await assert.rejects(verify(signEd25519(header({ typ: 'JWT' }), claims(), privateKey)), {
      code: 'TOKEN_INVALID',
      message: /typ/,
    });
  });
});
