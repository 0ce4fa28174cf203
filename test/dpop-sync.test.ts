import assert from 'node:assert/strict';
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { describe, it, mock } from 'node:test';
import { accessTokenHash, DpopKey, DpopReplayCache, ProofsAhead, verifyDpopProof } from '../lib/token/index.js';
import { jwkThumbprint } from '../lib/token/dpop-jws.js';

const URL_MCP = 'http://localhost/mcp';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const check = (replays = new DpopReplayCache()) => ({ method: 'POST', url: URL_MCP, replays });
const claims = () => ({
  jti: randomBytes(16).toString('base64url'),
  htm: 'POST',
  htu: URL_MCP,
  iat: Math.floor(Date.now() / 1000),
});
const publicJwk = (key: KeyObject) => {
  const { kty, crv, x, y } = key.export({ format: 'jwk' });
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
};

/** A hand-made proof: any header, any payload, signed by `sign` over the signing input. */
function proofOf(header: Record<string, unknown>, payload: unknown, signer: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const es256 = (encoding: 'ieee-p1363' | 'der') => (input: Buffer) =>
  sign('sha256', input, { key: ec.privateKey, dsaEncoding: encoding });
const esHeader = { alg: 'ES256', typ: 'dpop+jwt', jwk: publicJwk(ec.publicKey) };
const dpopInvalid = { code: 'DPOP_INVALID' };

describe('DPoP proofs are checked synchronously with node:crypto (lib/token/dpop-jws.ts)', () => {
  it('verifyDpopProof answers without a promise, for ES256, EdDSA and PS256, with the RFC 7638 thumbprint', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256'] as const) {
      const key = await DpopKey.generate(alg);
      const verified = verifyDpopProof(key.proof('POST', URL_MCP), check());
      assert.ok(!(verified instanceof Promise), `${alg}: no promise`);
      assert.equal(verified.jkt, key.jkt);
    }
    // RFC 7638 §3.1's example key and thumbprint.
    const rfc = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
    };
    assert.ok(createPublicKey({ key: rfc, format: 'jwk' }));
    assert.equal(jwkThumbprint(rfc, ['e', 'kty', 'n']), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('takes a proof by another client (jose, members in any order) and refuses its replay', () => {
    const replays = new DpopReplayCache();
    const { x, y } = publicJwk(ec.publicKey);
    const proof = proofOf(
      { typ: 'application/dpop+jwt', jwk: { y, x, crv: 'P-256', kty: 'EC' }, alg: 'ES256' },
      claims(),
      es256('ieee-p1363'),
    );
    verifyDpopProof(proof, check(replays));
    assert.throws(() => verifyDpopProof(proof, check(replays)), dpopInvalid);
  });

  it('refuses hostile headers: a private jwk, alg none, HS256 with an oct key, DER signature, wrong curve, crit', () => {
    const privateJwk = ec.privateKey.export({ format: 'jwk' });
    const secret = randomBytes(32);
    const hmac = (input: Buffer) => createHmac('sha256', secret).update(input).digest();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const x25519 = generateKeyPairSync('x25519');
    const hostile: Array<[string, string]> = [
      ['a jwk with d', proofOf({ ...esHeader, jwk: privateJwk }, claims(), es256('ieee-p1363'))],
      ['alg none', `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: esHeader.jwk })}.${b64(claims())}.`],
      ['alg none, signed', proofOf({ ...esHeader, alg: 'none' }, claims(), es256('ieee-p1363'))],
      [
        'HS256 with an oct jwk',
        proofOf(
          { alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: secret.toString('base64url') } },
          claims(),
          hmac,
        ),
      ],
      [
        'ES256 with an oct jwk',
        proofOf({ ...esHeader, jwk: { kty: 'oct', k: secret.toString('base64url') } }, claims(), es256('ieee-p1363')),
      ],
      ['a DER signature', proofOf(esHeader, claims(), es256('der'))],
      [
        'ES256 with a P-384 key',
        proofOf({ ...esHeader, jwk: publicJwk(p384.publicKey) }, claims(), (i) =>
          sign('sha384', i, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' }),
        ),
      ],
      [
        'EdDSA with an X25519 key',
        proofOf({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: publicJwk(x25519.publicKey) }, claims(), (i) =>
          sign(null, i, ed.privateKey),
        ),
      ],
      ['EdDSA with a P-256 key', proofOf({ ...esHeader, alg: 'EdDSA' }, claims(), (i) => sign(null, i, ed.privateKey))],
      [
        'ES256 with an Ed25519 key',
        proofOf({ ...esHeader, jwk: publicJwk(ed.publicKey) }, claims(), (i) => sign(null, i, ed.privateKey)),
      ],
      ['a crit header', proofOf({ ...esHeader, crit: ['exp'] }, claims(), es256('ieee-p1363'))],
      [
        'a jwk for another alg',
        proofOf({ ...esHeader, jwk: { ...esHeader.jwk, alg: 'ES384' } }, claims(), es256('ieee-p1363')),
      ],
      [
        'a short x coordinate',
        proofOf({ ...esHeader, jwk: { ...esHeader.jwk, x: 'AAAA' } }, claims(), es256('ieee-p1363')),
      ],
      [
        'a point off the curve',
        proofOf({ ...esHeader, jwk: { ...esHeader.jwk, y: esHeader.jwk.x } }, claims(), es256('ieee-p1363')),
      ],
      [
        'another key signed',
        proofOf(
          { alg: 'EdDSA', typ: 'dpop+jwt', jwk: publicJwk(generateKeyPairSync('ed25519').publicKey) },
          claims(),
          (i) => sign(null, i, ed.privateKey),
        ),
      ],
      ['typ JWT', proofOf({ ...esHeader, typ: 'JWT' }, claims(), es256('ieee-p1363'))],
      ['a payload that is not an object', proofOf(esHeader, ['jti'], es256('ieee-p1363'))],
      ['an expired exp', proofOf(esHeader, { ...claims(), exp: 1 }, es256('ieee-p1363'))],
      [
        'iat as a string',
        proofOf(esHeader, { ...claims(), iat: String(Math.floor(Date.now() / 1000)) }, es256('ieee-p1363')),
      ],
    ];
    for (const [what, proof] of hostile) assert.throws(() => verifyDpopProof(proof, check()), dpopInvalid, what);
  });

  it("PS256 (connect's): RSASSA-PSS with SHA-256 and a 32-byte salt, a 2048–4096-bit modulus, exponent 65537", () => {
    const rsa = (bits: number, exponent = 65537) =>
      generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: exponent });
    const r2048 = rsa(2048);
    const rsaJwk = (key: KeyObject) => {
      const { kty, n, e } = key.export({ format: 'jwk' });
      return { kty, n, e };
    };
    const psHeader = { alg: 'PS256', typ: 'dpop+jwt', jwk: rsaJwk(r2048.publicKey) };
    const pss =
      (key: KeyObject, saltLength = 32, hash = 'sha256') =>
      (input: Buffer) =>
        sign(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
    const good = proofOf(psHeader, claims(), pss(r2048.privateKey));
    assert.equal(
      verifyDpopProof(good, check()).jkt,
      jwkThumbprint(psHeader.jwk as Record<string, string>, ['e', 'kty', 'n']),
    );
    const r4096 = rsa(4096);
    const big = { ...psHeader, jwk: rsaJwk(r4096.publicKey) };
    assert.ok(verifyDpopProof(proofOf(big, claims(), pss(r4096.privateKey)), check()).jkt);
    const r1024 = rsa(1024);
    const r3 = rsa(2048, 3);
    const r2047 = rsa(2047);
    const privateJwk = r2048.privateKey.export({ format: 'jwk' });
    const { n } = psHeader.jwk;
    // Refused for the key's shape, before any signature check.
    const notTaken: Array<[string, string]> = [
      ['a 1024-bit modulus', proofOf({ ...psHeader, jwk: rsaJwk(r1024.publicKey) }, claims(), pss(r1024.privateKey))],
      ['exponent 3', proofOf({ ...psHeader, jwk: rsaJwk(r3.publicKey) }, claims(), pss(r3.privateKey))],
      ['a 2047-bit modulus', proofOf({ ...psHeader, jwk: rsaJwk(r2047.publicKey) }, claims(), pss(r2047.privateKey))],
      [
        'a modulus with a leading zero octet',
        proofOf({ ...psHeader, jwk: { ...psHeader.jwk, n: `AA${n}` } }, claims(), pss(r2048.privateKey)),
      ],
    ];
    for (const [what, proof] of notTaken)
      assert.throws(
        () => verifyDpopProof(proof, check()),
        { code: 'DPOP_INVALID', message: /modulus or exponent/ },
        what,
      );
    const another = rsa(2048);
    const hostile: Array<[string, string]> = [
      ['a jwk with the private members', proofOf({ ...psHeader, jwk: privateJwk }, claims(), pss(r2048.privateKey))],
      [
        'a jwk with a curve',
        proofOf({ ...psHeader, jwk: { ...psHeader.jwk, crv: 'P-256' } }, claims(), pss(r2048.privateKey)),
      ],
      ['a 20-byte salt', proofOf(psHeader, claims(), pss(r2048.privateKey, 20))],
      ['a SHA-384 hash', proofOf(psHeader, claims(), pss(r2048.privateKey, 32, 'sha384'))],
      [
        'PKCS#1 v1.5 padding (RS256) under PS256',
        proofOf(psHeader, claims(), (i) => sign('sha256', i, r2048.privateKey)),
      ],
      ['alg RS256', proofOf({ ...psHeader, alg: 'RS256' }, claims(), (i) => sign('sha256', i, r2048.privateKey))],
      ['PS256 with a P-256 key', proofOf({ ...esHeader, alg: 'PS256' }, claims(), es256('ieee-p1363'))],
      ['ES256 with an RSA key', proofOf({ ...psHeader, alg: 'ES256' }, claims(), pss(r2048.privateKey))],
      ['a short signature', `${good.slice(0, good.lastIndexOf('.'))}.${b64('x').repeat(4)}`],
      ['a 4096-bit signature under a 2048-bit key', proofOf(psHeader, claims(), pss(r4096.privateKey))],
      ['another key signed', proofOf(psHeader, claims(), pss(another.privateKey))],
    ];
    for (const [what, proof] of hostile) assert.throws(() => verifyDpopProof(proof, check()), dpopInvalid, what);
  });

  it("ProofsAhead (connect's): each proof fresh, used once, for its method, URL and token; a stale one is not used", async () => {
    const key = await DpopKey.generate('PS256');
    const ahead = new ProofsAhead(key);
    const replays = new DpopReplayCache();
    const payload = (proof: string) => JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString());
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const proof = await ahead.proof('POST', URL_MCP, 'token-a');
      verifyDpopProof(proof, { ...check(replays), accessTokenHash: accessTokenHash('token-a') });
      seen.add(payload(proof).jti);
    }
    assert.equal(seen.size, 4, 'a new jti every time');
    // The proof signed ahead was for token-a: a renewed token gets a proof for itself, at once.
    const renewed = await ahead.proof('POST', URL_MCP, 'token-b');
    verifyDpopProof(renewed, { ...check(replays), accessTokenHash: accessTokenHash('token-b') });
    const get = await ahead.proof('GET', URL_MCP, 'token-b');
    verifyDpopProof(get, { ...check(replays), method: 'GET', accessTokenHash: accessTokenHash('token-b') });
    // One held past AHEAD_MAX_AGE is dropped: the next proof is signed then, with the clock's iat.
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 6000 });
    try {
      const late = await ahead.proof('POST', URL_MCP, 'token-b');
      assert.equal(payload(late).iat, Math.floor(Date.now() / 1000));
    } finally {
      mock.timers.reset();
    }
  });

  it('a header seen in a verified proof saves only its parse: every proof under it is still checked in full', () => {
    const replays = new DpopReplayCache();
    const good = proofOf(esHeader, claims(), es256('ieee-p1363'));
    const members = ['crv', 'kty', 'x', 'y'];
    assert.equal(
      verifyDpopProof(good, check(replays)).jkt,
      jwkThumbprint(esHeader.jwk as Record<string, string>, members),
    );
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const byOther = (i: Buffer) => sign('sha256', i, { key: other.privateKey, dsaEncoding: 'ieee-p1363' });
    const [head, , signature] = good.split('.');
    const hostile: [string, string][] = [
      ['the same header, signed by another key', proofOf(esHeader, claims(), byOther)],
      ['the same header and payload, the signature of another payload', `${head}.${b64(claims())}.${signature}`],
      ['the same header, a stale iat', proofOf(esHeader, { ...claims(), iat: 1 }, es256('ieee-p1363'))],
      ['the same header, another method', proofOf(esHeader, { ...claims(), htm: 'GET' }, es256('ieee-p1363'))],
      ['the same proof again', good],
    ];
    for (const [what, proof] of hostile) assert.throws(() => verifyDpopProof(proof, check(replays)), dpopInvalid, what);
  });

  it("refuses a proof whose jwk thumbprint differs from the token's cnf.jkt, before recording its jti", async () => {
    const replays = new DpopReplayCache();
    const bound = await DpopKey.generate('EdDSA');
    const stranger = await DpopKey.generate('EdDSA');
    assert.throws(() => verifyDpopProof(stranger.proof('POST', URL_MCP), { ...check(replays), boundTo: bound.jkt }), {
      code: 'TOKEN_INVALID',
    });
    assert.equal(replays.size, 0);
  });
});
