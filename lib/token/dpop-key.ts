import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint } from './dpop-jws.js';
import { accessTokenHash, normalizeHtu } from './dpop.js';

type DpopAlg = 'ES256' | 'EdDSA';

/**
 * A per-process DPoP key (RFC 9449): its private half never leaves memory. Tokens are bound to `jkt`;
 * every request carries a fresh proof from `proof()`, signed synchronously with `node:crypto` under a
 * header encoded once per key. `gatekit connect` uses ES256: with the OpenSSL Node 20 ships, a P-256 signature is
 * cheaper than an Ed25519 one both to make and to verify (README, Performance).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export class DpopKey {
  readonly #privateKey: KeyObject;
  /** `BASE64URL(header).`: the same for every proof by this key. */
  readonly #headerPrefix: string;
  readonly alg: DpopAlg;
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly jkt: string;

  private constructor(privateKey: KeyObject, publicKey: KeyObject, alg: DpopAlg) {
    this.#privateKey = privateKey;
    this.alg = alg;
    const { kty, crv, x, y } = publicKey.export({ format: 'jwk' }) as Record<string, string>;
    const jwk: Record<string, string> =
      alg === 'ES256' ? { kty: kty!, crv: crv!, x: x!, y: y! } : { kty: kty!, crv: crv!, x: x! };
    const header = { alg, typ: 'dpop+jwt', jwk };
    this.#headerPrefix = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.`;
    this.jkt = jwkThumbprint(jwk, alg === 'ES256' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x']);
  }

  static generate(alg: DpopAlg = 'ES256'): Promise<DpopKey> {
    const { publicKey, privateKey } =
      alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    return Promise.resolve(new DpopKey(privateKey, publicKey, alg));
  }

  /** A fresh proof (new `jti`, `iat` now) for one request; `ath` when a token goes with it. */
  proof(method: string, url: string, accessToken?: string): string {
    const payload: Record<string, unknown> = {
      jti: randomBytes(16).toString('base64url'),
      htm: method.toUpperCase(),
      htu: normalizeHtu(url) ?? url,
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken !== undefined) payload['ath'] = accessTokenHash(accessToken);
    const input = `${this.#headerPrefix}${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature =
      this.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: this.#privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, Buffer.from(input), this.#privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }
}
