import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Hand-made JWS tokens for hostile tests: any header, any payload, any key — what an attacker can send. */
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export function signEd25519(header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

export function signHs256(header: object, payload: object, secret: Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function unsigned(header: object, payload: object): string {
  return `${b64(header)}.${b64(payload)}.`;
}

/** The broker's private key from its JWK file, and its kid. */
export function brokerKey(jwkFile: string): { key: KeyObject; kid: string; x: string } {
  const jwk = JSON.parse(readFileSync(jwkFile, 'utf8'));
  return { key: createPrivateKey({ key: jwk, format: 'jwk' }), kid: jwk.kid, x: jwk.x };
}

export function strangerKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8'));
}
