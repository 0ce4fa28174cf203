import { GatekitError } from '../errors.js';
import { readJwksFile, type Jwks, type PublicJwk } from './keys.js';
import { trustKeys, type TrustedKeys } from './verify.js';

/** Loads the daemon's trusted public keys from a JWKS file or an http(s) URL. */
export async function loadTrustedKeys(source: string): Promise<TrustedKeys> {
  if (!/^https?:\/\//.test(source)) return trustKeys(readJwksFile(source));
  let doc: { keys?: unknown };
  try {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = await res.json() as { keys?: unknown };
  } catch (cause) {
    throw new GatekitError('KEY_INVALID', `cannot load trusted keys from ${source}: ${(cause as Error).message}`, { cause });
  }
  const keys = Array.isArray(doc.keys) ? doc.keys.filter((k: PublicJwk) => k?.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.kid === 'string') : [];
  return trustKeys({ keys } as Jwks);
}
