import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
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
  readonly crv: string;
  /** The public members RFC 7638 §3.2 hashes, in lexicographic order. */
  readonly members: readonly string[];
  readonly verify: (data: Buffer, key: KeyObject, signature: Buffer) => boolean;
}

/** RFC 9449 §4.3 step 5: asymmetric algorithms only, each pinned to one key type and curve. */
const SUITES: ReadonlyMap<string, Suite> = new Map([
  [
    'ES256',
    {
      kty: 'EC',
      crv: 'P-256',
      members: ['crv', 'kty', 'x', 'y'],
      verify: (data, key, signature) => verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
    },
  ],
  ['EdDSA', { kty: 'OKP', crv: 'Ed25519', members: ['crv', 'kty', 'x'], verify: (d, k, s) => verify(null, d, k, s) }],
]);

// Both ES256 (r || s, RFC 7518 §3.4) and Ed25519 (RFC 8032 §5.1.6) signatures are 64 bytes.
const SIGNATURE_BYTES = 64;

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
    throw invalid(`DPoP proof jwk is not a ${suite.kty} ${suite.crv} key, as ${alg} needs`);
  if (members['alg'] !== undefined && members['alg'] !== alg) throw invalid('DPoP proof jwk is for another algorithm');
  if (members['use'] !== undefined && members['use'] !== 'sig') throw invalid('DPoP proof jwk is not a signing key');
  if (members['kid'] !== undefined && typeof members['kid'] !== 'string') throw invalid('DPoP proof jwk kid malformed');
  // RFC 7518 §6.2.1.2, RFC 8037 §2: full-length coordinates, so one key has one thumbprint.
  for (const m of ['x', 'y'])
    if (suite.members.includes(m) && !B64URL_32_BYTES.test(members[m] as string))
      throw invalid('DPoP proof jwk coordinates malformed');
  const publicMembers = Object.fromEntries(suite.members.map((m) => [m, members[m] as string]));
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
  return { suite, ...proofKeyOf(header['jwk'], alg as string, suite) };
}

/**
 * Checks a compact JWS (already matched as three base64url parts) as a DPoP proof: a JSON header with
 * `typ` dpop+jwt, `alg` ES256 or EdDSA, no `crit`, a public `jwk` of that algorithm's key type and curve,
 * and a 64-byte signature by that key over the first two parts; returns the payload (a JSON object) and
 * the key's thumbprint. Throws DPOP_INVALID, naming no key material.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export function verifyProofJws(proof: string): ProofJws {
  const first = proof.indexOf('.');
  const last = proof.lastIndexOf('.');
  const encodedHeader = proof.slice(0, first);
  const known = headers.get(encodedHeader);
  const { suite, key, jkt } = known ?? checkHeader(encodedHeader);
  const encodedSignature = proof.slice(last + 1);
  const signature = encodedSignature.length % 4 === 1 ? undefined : Buffer.from(encodedSignature, 'base64url');
  if (signature?.length !== SIGNATURE_BYTES || !suite.verify(Buffer.from(proof.slice(0, last)), key, signature))
    throw invalid('DPoP proof signature verification failed');
  const payload = decodeJson(proof.slice(first + 1, last));
  if (!payload) throw invalid('malformed DPoP proof (payload)');
  remember(encodedHeader, known ?? { suite, key, jkt });
  return { payload, jkt };
}

/** Keeps a verified proof's header (most recently used last). */
function remember(encoded: string, header: ProofHeader): void {
  if (encoded.length > HEADER_KEPT_LENGTH) return;
  headers.delete(encoded);
  if (headers.size >= HEADERS_MAX) headers.delete(headers.keys().next().value!);
  headers.set(encoded, header);
}
