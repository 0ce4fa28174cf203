import {
  constants,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import { promisify } from 'node:util';
import { jwkThumbprint } from './dpop-jws.js';
import { accessTokenHash, normalizeHtu } from './dpop.js';

type DpopAlg = 'ES256' | 'EdDSA' | 'PS256';

/** What each algorithm hashes into its RFC 7638 thumbprint, and how it signs (RFC 7518 §3.4, §3.5; RFC 8037). */
const SIGNING: Readonly<
  Record<
    DpopAlg,
    {
      members: readonly string[];
      digest: string | null;
      options: Omit<SignKeyObjectInput, 'key'>;
      generate: () => Promise<KeyPair>;
    }
  >
> = {
  ES256: {
    members: ['crv', 'kty', 'x', 'y'],
    digest: 'sha256',
    options: { dsaEncoding: 'ieee-p1363' },
    generate: () => Promise.resolve(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  },
  EdDSA: {
    members: ['crv', 'kty', 'x'],
    digest: null,
    options: {},
    generate: () => Promise.resolve(generateKeyPairSync('ed25519')),
  },
  PS256: {
    members: ['e', 'kty', 'n'],
    digest: 'sha256',
    options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    // An RSA key takes ~0.2 s to make: off the event loop, in libuv's pool.
    generate: () => promisify(generateKeyPair)('rsa', { modulusLength: 2048, publicExponent: 65537 }),
  },
};

interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/**
 * A per-process DPoP key (RFC 9449): its private half never leaves memory. Tokens are bound to `jkt`;
 * every request carries a fresh proof from `proof()` or `proofAsync()` under a header encoded once per key.
 * `gatekit connect` uses PS256 (see ProofsAhead); ES256 and EdDSA are here for the tests and the bench.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export class DpopKey {
  /** The private key with its algorithm's options (ES256 as `r || s`, PSS's salt): what every proof is signed with. */
  readonly #signWith: SignKeyObjectInput;
  /** `BASE64URL(header).`: the same for every proof by this key. */
  readonly #headerPrefix: string;
  readonly alg: DpopAlg;
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly jkt: string;

  private constructor({ privateKey, publicKey }: KeyPair, alg: DpopAlg) {
    this.#signWith = { key: privateKey, ...SIGNING[alg].options };
    this.alg = alg;
    const exported = publicKey.export({ format: 'jwk' }) as Record<string, string>;
    const jwk = Object.fromEntries(SIGNING[alg].members.map((m) => [m, exported[m]!]));
    this.#headerPrefix = `${Buffer.from(JSON.stringify({ alg, typ: 'dpop+jwt', jwk })).toString('base64url')}.`;
    this.jkt = jwkThumbprint(jwk, SIGNING[alg].members);
  }

  static async generate(alg: DpopAlg = 'ES256'): Promise<DpopKey> {
    return new DpopKey(await SIGNING[alg].generate(), alg);
  }

  /** A fresh proof (new `jti`, `iat` now) for one request; `ath` when a token goes with it. */
  proof(method: string, url: string, accessToken?: string): string {
    const input = this.#signingInput(method, url, accessToken);
    return `${input}.${sign(SIGNING[this.alg].digest, Buffer.from(input), this.#signWith).toString('base64url')}`;
  }

  /** The same, signed in libuv's thread pool: the event loop goes on meanwhile. */
  proofAsync(method: string, url: string, accessToken?: string): Promise<string> {
    const input = this.#signingInput(method, url, accessToken);
    return new Promise((resolve, reject) =>
      sign(SIGNING[this.alg].digest, Buffer.from(input), this.#signWith, (err, signature) =>
        err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`),
      ),
    );
  }

  #signingInput(method: string, url: string, accessToken: string | undefined): string {
    const payload: Record<string, unknown> = {
      jti: randomBytes(16).toString('base64url'),
      htm: method.toUpperCase(),
      htu: normalizeHtu(url) ?? url,
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken !== undefined) payload['ath'] = accessTokenHash(accessToken);
    return `${this.#headerPrefix}${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  }
}

/** A proof signed ahead is used only this fresh (seconds): well inside the verifier's ±60 s for `iat`. */
const AHEAD_MAX_AGE = 5;

/**
 * Proofs for one endpoint, each signed ahead of the request that will carry it: when a POST takes its proof, the
 * next POST's is started in the thread pool, so signing (~0.3 ms for PS256) happens while the request is on its
 * way, not before it leaves. Every proof is still fresh (a new `jti`, an `iat` at most AHEAD_MAX_AGE old), used
 * once, and for the very method, URL and token it was signed for; anything else is signed on demand.
 */
export class ProofsAhead {
  readonly #key: DpopKey;
  #ready: { readonly for: string; readonly iat: number; readonly proof: Promise<string> } | undefined;

  constructor(key: DpopKey) {
    this.#key = key;
  }

  proof(method: string, url: string, accessToken: string): Promise<string> {
    if (method !== 'POST') return this.#key.proofAsync(method, url, accessToken);
    const wanted = `${url} ${accessToken}`;
    const ready = this.#ready;
    this.#ready = { for: wanted, iat: Date.now() / 1000, proof: this.#key.proofAsync(method, url, accessToken) };
    this.#ready.proof.catch(() => {}); // a failed signature fails the request that takes it, not the process
    if (ready?.for === wanted && Date.now() / 1000 - ready.iat < AHEAD_MAX_AGE) return ready.proof;
    return this.#key.proofAsync(method, url, accessToken);
  }
}
