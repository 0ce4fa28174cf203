import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { GatekitError } from '../errors.js';
import { writeFileAtomic } from '../files.js';

/** The public half of the audit key, as a JWK (RFC 8037 OKP, Ed25519). */
export interface AuditPublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** The daemon's Ed25519 audit key: signs checkpoints, nothing else. */
export interface AuditSigner {
  readonly kid: string;
  readonly key: KeyObject;
  readonly publicJwk: AuditPublicJwk;
}

/** RFC 7638 thumbprint of an Ed25519 public key. */
function thumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/** Creates the audit key (private JWK, 0600, written atomically) unless it exists; true when written. */
export function createAuditKey(path: string, force = false): boolean {
  if (existsSync(path) && !force) return false;
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const kid = `audit-${thumbprint(jwk.x)}`;
  writeFileAtomic(
    path,
    `${JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d, kid, alg: 'EdDSA', use: 'sig' }, null, 2)}\n`,
  );
  return true;
}

/** Loads the audit key, refusing one others can read; the `kid` is recomputed, never trusted from the file. */
export function loadAuditKey(path: string): AuditSigner {
  let text: string;
  try {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) {
      throw new GatekitError(
        'KEY_INVALID',
        `audit key ${path} is readable by others (mode ${(mode & 0o777).toString(8)})`,
        { hint: `run: chmod 600 ${path}` },
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (cause instanceof GatekitError) throw cause;
    throw new GatekitError(
      'KEY_INVALID',
      `cannot read the audit key ${path}: ${(cause as NodeJS.ErrnoException).code}`,
      { hint: 'run "gatekit init" to create it, or fix [daemon] audit_key', cause },
    );
  }
  let jwk: { kty?: unknown; crv?: unknown; x?: unknown; d?: unknown };
  try {
    jwk = JSON.parse(text);
  } catch {
    jwk = {};
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new GatekitError('KEY_INVALID', `audit key ${path} is not a private Ed25519 JWK`, {
      hint: 'run "gatekit init --force"',
    });
  }
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  const kid = `audit-${thumbprint(jwk.x)}`;
  return { kid, key, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: 'EdDSA', use: 'sig' } };
}

/**
 * A compact JWS (RFC 7515, EdDSA per RFC 8037) over `payload`. Signed with node:crypto rather than
 * jose's async API so a checkpoint is written in the same synchronous step as the line it seals;
 * `gatekit audit verify` checks it with jose.
 */
export function signCompact(signer: AuditSigner, payload: object): string {
  const header = Buffer.from(
    JSON.stringify({ alg: 'EdDSA', kid: signer.kid, typ: 'gatekit-audit-checkpoint' }),
  ).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = sign(null, Buffer.from(`${header}.${body}`), signer.key).toString('base64url');
  return `${header}.${body}.${signature}`;
}
