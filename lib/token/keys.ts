import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { GatekitError } from '../errors.js';
import { writeFileAtomic } from '../files.js';

/** A trusted public key that was replaced stays in the JWKS this long: the longest a token lives. */
const RETIRED_KEY_GRACE = 3600;

/** What jose signs and verifies with (a CryptoKey on Node). */
export type JoseKey = Awaited<ReturnType<typeof importJWK>>;
export interface SigningKey {
  readonly kid: string;
  readonly key: JoseKey;
}
export interface PublicJwk extends JWK {
  kid: string;
  retired_at?: number;
}
export interface Jwks {
  keys: PublicJwk[];
}

/** A fresh Ed25519 private JWK whose `kid` is its RFC 7638 thumbprint. */
export async function generateSigningJwk(): Promise<JWK & { kid: string }> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! });
  return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, d: jwk.d!, kid, alg: 'EdDSA', use: 'sig' };
}

export function publicJwk(jwk: JWK & { kid: string }): PublicJwk {
  return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, kid: jwk.kid, alg: 'EdDSA', use: 'sig' };
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GatekitError(
      missing ? 'CONFIG_INVALID' : 'KEY_INVALID',
      `cannot read ${what} ${path}${missing ? ': no such file' : ''}`,
      {
        hint: missing ? 'run "gatekit init" to create keys and certificates' : `check the permissions of ${path}`,
        cause,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new GatekitError('KEY_INVALID', `${what} ${path} is not valid JSON`, {
      hint: 'restore it from a backup or run "gatekit init --force"',
      cause,
    });
  }
}

function isEd25519(jwk: unknown): jwk is JWK & { kid: string; x: string } {
  const k = jwk as JWK | null;
  return (
    !!k &&
    k.kty === 'OKP' &&
    k.crv === 'Ed25519' &&
    typeof k.x === 'string' &&
    typeof k.kid === 'string' &&
    k.kid !== ''
  );
}

/** Loads the broker's private signing key (an Ed25519 JWK with a `kid`), refusing one others can read. */
export async function loadSigningKey(path: string): Promise<SigningKey> {
  const mode = statSafe(path);
  if (mode !== undefined && (mode & 0o077) !== 0) {
    throw new GatekitError(
      'KEY_INVALID',
      `signing key ${path} is readable by others (mode ${(mode & 0o777).toString(8)})`,
      { hint: `run: chmod 600 ${path}` },
    );
  }
  const jwk = readJson(path, 'signing key');
  if (!isEd25519(jwk) || typeof (jwk as JWK).d !== 'string') {
    throw new GatekitError('KEY_INVALID', `signing key ${path} is not a private Ed25519 JWK with a "kid"`, {
      hint: 'run "gatekit init --force" to make a new one',
    });
  }
  return { kid: jwk.kid, key: await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA') };
}

/** Reads a JWKS file, keeping only Ed25519 keys that carry a `kid` (nothing else is ever trusted). */
export function readJwksFile(path: string): Jwks {
  const doc = readJson(path, 'key set') as { keys?: unknown };
  if (!doc || !Array.isArray(doc.keys)) {
    throw new GatekitError('KEY_INVALID', `key set ${path} has no "keys" array`, {
      hint: 'run "gatekit keys jwks" to see the expected shape',
    });
  }
  return {
    keys: doc.keys.filter(isEd25519).map((k) => ({
      ...publicJwk(k),
      ...(typeof (k as PublicJwk).retired_at === 'number' ? { retired_at: (k as PublicJwk).retired_at } : {}),
    })),
  };
}

function statSafe(path: string): number | undefined {
  try {
    return statSync(path).mode;
  } catch {
    return undefined;
  }
}

export interface KeyFiles {
  readonly signingKey: string;
  readonly jwks: string;
}

/** Creates the signing key (0600) and its JWKS unless they exist; returns what was written. */
export async function createKeys(files: KeyFiles, force: boolean): Promise<string[]> {
  const exists = existsSync(files.signingKey);
  if (exists && !force) return [];
  const jwk = await generateSigningJwk();
  mkdirSync(dirname(files.signingKey), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(files.jwks), { recursive: true, mode: 0o755 });
  writeFileAtomic(files.signingKey, `${JSON.stringify(jwk, null, 2)}\n`, 0o600);
  writeFileAtomic(files.jwks, `${JSON.stringify({ keys: [publicJwk(jwk)] }, null, 2)}\n`, 0o644);
  return [files.signingKey, files.jwks];
}

/**
 * Replaces the signing key with a new one (new kid). The old public key stays in the JWKS, marked
 * retired, for as long as a token signed by it can live; keys retired longer ago are dropped.
 */
export async function rotateKeys(
  files: KeyFiles,
  now = Math.floor(Date.now() / 1000),
): Promise<{ kid: string; retired: string[] }> {
  const current = readJwksFile(files.jwks);
  const jwk = await generateSigningJwk();
  const kept = current.keys
    .map((k) => (k.retired_at === undefined ? { ...k, retired_at: now } : k))
    .filter((k) => now - k.retired_at! < RETIRED_KEY_GRACE);
  // The JWKS first: a daemon must trust the new kid before any token carries it.
  writeFileAtomic(files.jwks, `${JSON.stringify({ keys: [publicJwk(jwk), ...kept] }, null, 2)}\n`, 0o644);
  writeFileAtomic(files.signingKey, `${JSON.stringify(jwk, null, 2)}\n`, 0o600);
  return { kid: jwk.kid, retired: kept.map((k) => k.kid) };
}
