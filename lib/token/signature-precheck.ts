import { KeyObject, verify, type webcrypto } from 'node:crypto';
import { errors } from 'jose';
import { GatekitError } from '../errors.js';
import type { JoseKey } from './keys.js';

/**
 * A synchronous Ed25519 check that refuses a badly signed token before jose's asynchronous WebCrypto
 * verify runs (it crosses to the thread pool and back). It only ever refuses: a token it lets through
 * still goes to jose's `jwtVerify`, which stays the authority on the signature and every claim
 * (RFC 9068 §4). Wherever jose would refuse for another reason first, or the case is unusual, it steps
 * aside and lets jose give today's answer.
 */

// Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6).
const ED25519_SIGNATURE_BYTES = 64;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** One KeyObject per trusted CryptoKey, converted the first time it checks a token, never per call. */
const nodeKeys = new WeakMap<object, KeyObject | null>();

/** Header parameters the pre-check relies on; only a header jose would accept as EdDSA gets here. */
interface EdDsaHeader {
  readonly alg: 'EdDSA';
  readonly kid?: unknown;
}

/**
 * Decodes a compact JWS's protected header (RFC 7515 §7.1) as jose does and returns it when jose would
 * go on to ask for the key with alg EdDSA. Anything else (undecodable, not a JSON object, `crit`
 * present, another or no `alg`) gives undefined: jose refuses it as it always did.
 */
export function edDsaHeaderOf(token: string): EdDsaHeader | undefined {
  const encoded = token.slice(0, token.indexOf('.'));
  // A base64url text whose length is 1 mod 4 is no encoding at all; Node's decoder would drop a character.
  if (encoded.length % 4 === 1) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(strictUtf8.decode(Buffer.from(encoded, 'base64url')));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  const { alg, crit } = header as Record<string, unknown>;
  if (crit !== undefined || alg !== 'EdDSA') return undefined;
  return header as EdDsaHeader;
}

const isCryptoKey = (key: unknown): key is webcrypto.CryptoKey =>
  (key as { [Symbol.toStringTag]?: unknown } | null)?.[Symbol.toStringTag] === 'CryptoKey';

function nodeKeyOf(key: JoseKey): KeyObject | null {
  let nodeKey = nodeKeys.get(key);
  if (nodeKey === undefined) {
    const usable =
      isCryptoKey(key) && key.type === 'public' && key.algorithm.name === 'Ed25519' && key.usages.includes('verify');
    nodeKey = usable ? KeyObject.from(key) : null;
    nodeKeys.set(key, nodeKey);
  }
  return nodeKey;
}

/**
 * Throws the bad-signature error (the one jose's refusal is translated to) when the token's Ed25519
 * signature over `BASE64URL(header).BASE64URL(payload)` does not check out against `key`. Returns
 * quietly when it holds, or when the key or the signature's encoding is one the pre-check leaves to jose.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2
 */
export function refuseBadSignature(token: string, key: JoseKey): void {
  const nodeKey = nodeKeyOf(key);
  const dot = token.lastIndexOf('.');
  const encodedSignature = token.slice(dot + 1);
  if (nodeKey === null || encodedSignature.length % 4 === 1) return;
  const signature = Buffer.from(encodedSignature, 'base64url');
  if (
    signature.length === ED25519_SIGNATURE_BYTES &&
    verify(null, Buffer.from(token.slice(0, dot)), nodeKey, signature)
  )
    return;
  throw new GatekitError('TOKEN_INVALID', 'signature verification failed', {
    cause: new errors.JWSSignatureVerificationFailed(),
  });
}
