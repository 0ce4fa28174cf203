import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { GatekitError } from '../errors.js';

/**
 * The JWS half of a DPoP proof check (RFC 9449 §4.3 steps 2–7), synchronous with `node:crypto`: one parse
 * of the compact JWS, the header's `typ`, `alg` and public `jwk`, the signature by that key, and the key's
 * RFC 7638 thumbprint. A client signs every proof under the same header, so what a header yields (its algorithm,
 * imported key and thumbprint) is remembered by the header's exact text once a proof under it has verified: a
 * client's next proof costs one payload parse and one signature check. The header is not the proof: its signature
 * and payload (jti, iat, htm, htu, ath) are checked every time.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const B64URL_32_BYTES = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** Optional JWK members besides a kty/crv's public ones; a private (`d`) or symmetric (`k`) member is refused. */
const JWK_METADATA = new Set(['kid', 'alg', 'use']);

interface Suite {
  readonly kty: string;
  /** The curve, for an elliptic-curve or OKP key; an RSA key has none. */
  readonly crv: string | undefined;
  /** The public members RFC 7638 §3.2 hashes, in lexicographic order. */
  readonly members: readonly string[];
  /** The key's own shape beyond its type: full-length coordinates, or an RSA modulus and exponent in bounds. */
  readonly wellFormed: (members: Readonly<Record<string, string>>) => boolean;
  /** The signature's exact length in bytes for this key. */
  readonly signatureBytes: (key: KeyObject) => number;
  readonly verify: (data: Buffer, key: KeyObject, signature: Buffer) => boolean;
}

// RFC 7518 §6.2.1.2, RFC 8037 §2: full-length coordinates, so one key has one thumbprint.
const fullCoordinates = (members: Readonly<Record<string, string>>) =>
  B64URL_32_BYTES.test(members['x']!) && (members['y'] === undefined || B64URL_32_BYTES.test(members['y']));
/** RSA moduli taken (bits): RFC 7518 §3.5 asks for 2048 at least; above 4096 a proof would only cost more to check. */
const RSA_BITS = { min: 2048, max: 4096 };
/**
 * An RSA key's modulus in bounds, its top bit set (so no leading zero octet, RFC 7518 §6.3.1.1, and a signature of
 * exactly its octets), and the exponent 65537: a huge exponent would make each check as dear as an attacker likes,
 * and no client uses another.
 */
function rsaWellFormed(members: Readonly<Record<string, string>>): boolean {
  if (members['e'] !== 'AQAB' || !/^[A-Za-z0-9_-]+$/.test(members['n']!)) return false;
  const n = Buffer.from(members['n']!, 'base64url');
  return n[0]! >= 0x80 && n.length * 8 >= RSA_BITS.min && n.length * 8 <= RSA_BITS.max;
}

/**
 * RFC 9449 §4.3 step 5: asymmetric algorithms only, each pinned to one key type (and curve). PS256 (RSASSA-PSS,
 * SHA-256, MGF1 with SHA-256, a 32-byte salt: RFC 7518 §3.5) is `gatekit connect`'s: an RSA signature is the
 * cheapest of the three to check, which is the daemon's side of every call.
 */
const SUITES: ReadonlyMap<string, Suite> = new Map([
  [
    'ES256',
    {
      kty: 'EC',
      crv: 'P-256',
      members: ['crv', 'kty', 'x', 'y'],
      wellFormed: fullCoordinates,
      signatureBytes: () => 64, // r || s, RFC 7518 §3.4
      verify: (data, key, signature) => verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
    },
  ],
  [
    'EdDSA',
    {
      kty: 'OKP',
      crv: 'Ed25519',
      members: ['crv', 'kty', 'x'],
      wellFormed: fullCoordinates,
      signatureBytes: () => 64, // RFC 8032 §5.1.6
      verify: (d, k, s) => verify(null, d, k, s),
    },
  ],
  [
    'PS256',
    {
      kty: 'RSA',
      crv: undefined,
      members: ['e', 'kty', 'n'],
      wellFormed: rsaWellFormed,
      signatureBytes: (key) => key.asymmetricKeyDetails!.modulusLength! / 8,
      verify: (data, key, signature) =>
        verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature),
    },
  ],
]);

export interface ProofJws {
  readonly payload: Record<string, unknown>;
  /** RFC 7638 SHA-256 thumbprint of the proof's public key. */
  readonly jkt: string;
}

interface ProofKey {
  readonly key: KeyObject;
  readonly jkt: string;
}

interface ProofHeader extends ProofKey {
  readonly suite: Suite;
  readonly signatureBytes: number;
}

const HEADERS_MAX = 1000;
/** A longer header (a jwk with long metadata) is checked every time rather than kept. */
const HEADER_KEPT_LENGTH = 1024;
/** Headers of proofs that verified, by their exact base64url text; bounded, the least recently used leaves first. */
const headers = new Map<string, ProofHeader>();

function invalid(description: string): GatekitError {
  return new GatekitError('DPOP_INVALID', description);
}

function decodeJson(encoded: string): Record<string, unknown> | undefined {
  // A base64url text whose length is 1 mod 4 encodes nothing; Node's decoder would drop a character.
  if (encoded.length % 4 === 1) return undefined;
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(Buffer.from(encoded, 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 7515 §4.1.9: `typ` is a media type, case-insensitive, `application/` optional. */
const isDpopTyp = (typ: unknown) =>
  typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'dpop+jwt';

/** RFC 7638 §3: the required members, lexicographic, no whitespace; SHA-256, base64url. */
export function jwkThumbprint(jwk: Readonly<Record<string, string>>, members: readonly string[]): string {
  const canonical = `{${members.map((m) => `"${m}":${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The `jwk` header as a public key of `alg`'s type and curve, imported once per key. */
function proofKeyOf(jwk: unknown, alg: string, suite: Suite): ProofKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('DPoP proof without a jwk header');
  const members = jwk as Record<string, unknown>;
  for (const [name, value] of Object.entries(members)) {
    if (suite.members.includes(name)) {
      if (typeof value !== 'string') throw invalid('DPoP proof jwk member is not a string');
    } else if (!JWK_METADATA.has(name)) {
      throw invalid('DPoP proof jwk must be a public key with only its public members');
    }
  }
  if (members['kty'] !== suite.kty || members['crv'] !== suite.crv)
    throw invalid(`DPoP proof jwk is not a ${[suite.kty, suite.crv].filter(Boolean).join(' ')} key, as ${alg} needs`);
  if (members['alg'] !== undefined && members['alg'] !== alg) throw invalid('DPoP proof jwk is for another algorithm');
  if (members['use'] !== undefined && members['use'] !== 'sig') throw invalid('DPoP proof jwk is not a signing key');
  if (members['kid'] !== undefined && typeof members['kid'] !== 'string') throw invalid('DPoP proof jwk kid malformed');
  const publicMembers = Object.fromEntries(suite.members.map((m) => [m, members[m] as string]));
  if (suite.members.some((m) => members[m] === undefined) || !suite.wellFormed(publicMembers))
    throw invalid(
      suite.kty === 'RSA' ? 'DPoP proof jwk modulus or exponent not taken' : 'DPoP proof jwk coordinates malformed',
    );
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicMembers, format: 'jwk' });
  } catch {
    throw invalid('DPoP proof jwk is not a valid public key');
  }
  return { key, jkt: jwkThumbprint(publicMembers, suite.members) };
}

/** The header's algorithm and key, checked as RFC 9449 §4.3 steps 2–6 ask. */
function checkHeader(encoded: string): ProofHeader {
  const header = decodeJson(encoded);
  if (!header) throw invalid('malformed DPoP proof (header)');
  // RFC 7515 §4.1.11: this verifier understands no extension, so a `crit` header is refused whatever it names.
  if (header['crit'] !== undefined) throw invalid('DPoP proof header has crit extensions');
  if (!isDpopTyp(header['typ'])) throw invalid('DPoP proof typ must be dpop+jwt');
  const alg = header['alg'];
  const suite = typeof alg === 'string' ? SUITES.get(alg) : undefined;
  if (!suite) throw invalid('DPoP proof algorithm not allowed');
  const proofKey = proofKeyOf(header['jwk'], alg as string, suite);
  return { suite, ...proofKey, signatureBytes: suite.signatureBytes(proofKey.key) };
}

/**
 * Checks a compact JWS (already matched as three base64url parts) as a DPoP proof: a JSON header with
 * `typ` dpop+jwt, `alg` ES256, EdDSA or PS256, no `crit`, a public `jwk` of that algorithm's key type (and curve),
 * and a signature of that key's length by that key over the first two parts; returns the payload (a JSON object) and
 * the key's thumbprint. Throws DPOP_INVALID, naming no key material.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export function verifyProofJws(proof: string): ProofJws {
  const first = proof.indexOf('.');
  const last = proof.lastIndexOf('.');
  const encodedHeader = proof.slice(0, first);
  const known = headers.get(encodedHeader);
  const { suite, key, jkt, signatureBytes } = known ?? checkHeader(encodedHeader);
  const encodedSignature = proof.slice(last + 1);
  const signature = encodedSignature.length % 4 === 1 ? undefined : Buffer.from(encodedSignature, 'base64url');
  if (signature?.length !== signatureBytes || !suite.verify(Buffer.from(proof.slice(0, last)), key, signature))
    throw invalid('DPoP proof signature verification failed');
  const payload = decodeJson(proof.slice(first + 1, last));
  if (!payload) throw invalid('malformed DPoP proof (payload)');
  remember(encodedHeader, known ?? { suite, key, jkt, signatureBytes });
  return { payload, jkt };
}

/** Keeps a verified proof's header (most recently used last). */
function remember(encoded: string, header: ProofHeader): void {
  if (encoded.length > HEADER_KEPT_LENGTH) return;
  headers.delete(encoded);
  if (headers.size >= HEADERS_MAX) headers.delete(headers.keys().next().value!);
  headers.set(encoded, header);
}
