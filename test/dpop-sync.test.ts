import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { DpopKey, DpopReplayCache, verifyDpopProof } from '../lib/token/index.js';
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
  it('verifyDpopProof answers without a promise, for ES256 and EdDSA, with the RFC 7638 thumbprint', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
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
