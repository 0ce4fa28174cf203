import { randomBytes } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { accessTokenHash, normalizeHtu } from './dpop.js';

/**
 * A per-process DPoP key (RFC 9449): its private half never leaves memory and cannot be exported.
 * Tokens are bound to `jkt`; every request carries a fresh proof from `proof()`.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export class DpopKey {
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;
  readonly alg: 'ES256' | 'EdDSA';
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly jkt: string;

  private constructor(privateKey: CryptoKey, publicJwk: JWK, alg: 'ES256' | 'EdDSA', jkt: string) {
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
    this.alg = alg;
    this.jkt = jkt;
  }

  static async generate(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<DpopKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: false });
    const jwk = await exportJWK(publicKey);
    const publicJwk: JWK =
      alg === 'ES256'
        ? { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! }
        : { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! };
    return new DpopKey(privateKey, publicJwk, alg, await calculateJwkThumbprint(publicJwk, 'sha256'));
  }

  /** A fresh proof (new `jti`, `iat` now) for one request; `ath` when a token goes with it. */
  proof(method: string, url: string, accessToken?: string): Promise<string> {
    const payload: Record<string, unknown> = {
      jti: randomBytes(16).toString('base64url'),
      htm: method.toUpperCase(),
      htu: normalizeHtu(url) ?? url,
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken !== undefined) payload['ath'] = accessTokenHash(accessToken);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: this.alg, typ: 'dpop+jwt', jwk: this.#publicJwk })
      .sign(this.#privateKey);
  }
}
