import { createHash, randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type * as X509 from '@peculiar/x509';
import { GatekitError } from '../errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../files.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** A certificate and its private key, as two PEM files. */
export interface PemFiles {
  readonly cert: string;
  readonly key: string;
}

/** What `gatekit doctor` shows of a certificate. */
export interface CertificateInfo {
  readonly subject: string;
  readonly notAfter: Date;
  /** Colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
  /** RFC 8705 `x5t#S256`: base64url SHA-256 of the DER certificate (what `cnf` binds a token to). */
  readonly thumbprint: string;
}

export interface Ca {
  readonly cert: X509.X509Certificate;
  readonly key: CryptoKey;
}

export type LeafKind = 'server' | 'client';

// ECDSA P-256: quick to generate, and every TLS stack Node links against accepts it.
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;
const CA_DAYS = 3650;
// The CA/Browser-era ceiling that Apple's TLS stack still enforces for locally trusted leaves.
const LEAF_DAYS = 825;
// Backdated a little so a client whose clock runs behind does not see "not yet valid".
const SKEW = 3_600_000;

let loaded: typeof X509 | undefined;
async function x509(): Promise<typeof X509> {
  if (!loaded) {
    // @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
    await import('reflect-metadata');
    const x = await import('@peculiar/x509');
    x.cryptoProvider.set(globalThis.crypto);
    loaded = x;
  }
  return loaded;
}

// 0x01 first keeps the DER INTEGER positive and the serial 16 bytes long; 120 random bits follow.
const serial = () => `01${randomBytes(15).toString('hex')}`;

const validity = (days: number) => {
  const notBefore = new Date(Date.now() - SKEW);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY) };
};

const generateKeys = () => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

async function privatePem(key: CryptoKey): Promise<string> {
  const x = await x509();
  return x.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Writes a key (0600) and then its certificate (0644); a missing directory is created 0700. */
async function writePair(out: PemFiles, cert: X509.X509Certificate, key: CryptoKey): Promise<void> {
  // An existing directory is left as it is: it may be the config's own directory, or $HOME.
  for (const dir of new Set([dirname(out.key), dirname(out.cert)])) if (!existsSync(dir)) ensurePrivateDir(dir);
  writeFileAtomic(out.key, await privatePem(key), 0o600);
  writeFileAtomic(out.cert, cert.toString('pem'), 0o644);
}

/** A new self-signed CA: CA:true with pathLen 0 (it signs leaves only), keyCertSign|cRLSign, 10 years. */
export async function createCa(out: PemFiles): Promise<Ca> {
  const x = await x509();
  const keys = await generateKeys();
  const ski = await x.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [`Gatekit local CA (${hostname()})`] }],
    ...validity(CA_DAYS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      ski,
      new x.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  await writePair(out, cert, keys.privateKey);
  return { cert, key: keys.privateKey };
}

/** Reads a CA certificate and its PKCS#8 private key; a key that is not P-256 is refused. */
export async function loadCa(files: PemFiles): Promise<Ca> {
  const x = await x509();
  try {
    const cert = new x.X509Certificate(readFileSync(files.cert, 'utf8'));
    const der = x.PemConverter.decodeFirst(readFileSync(files.key, 'utf8'));
    const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    return { cert, key };
  } catch (cause) {
    throw new GatekitError(
      'KEY_INVALID',
      `cannot use the local CA ${files.cert} with key ${files.key}: ${(cause as Error).message}`,
      { hint: 'run "gatekit init --force" to create a new local CA and certificates', cause },
    );
  }
}

/**
 * Issues a leaf from the CA: the daemon's (serverAuth; 127.0.0.1, ::1 and localhost) or a client's
 * (clientAuth). 825 days, digitalSignature only, never a CA.
 */
export async function issueLeaf(ca: Ca, out: PemFiles, kind: LeafKind, cn: string): Promise<void> {
  const x = await x509();
  const keys = await generateKeys();
  const caKeyId = ca.cert.getExtension(x.SubjectKeyIdentifierExtension)?.keyId;
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [cn] }],
    // The CA's own encoded name, byte for byte, so that every chain builder matches it.
    issuer: ca.cert.subjectName,
    ...validity(LEAF_DAYS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
      new x.ExtendedKeyUsageExtension([
        kind === 'server' ? x.ExtendedKeyUsage.serverAuth : x.ExtendedKeyUsage.clientAuth,
      ]),
      ...(kind === 'server'
        ? [
            new x.SubjectAlternativeNameExtension([
              { type: 'ip', value: '127.0.0.1' },
              { type: 'ip', value: '::1' },
              { type: 'dns', value: 'localhost' },
            ]),
          ]
        : []),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
      caKeyId
        ? new x.AuthorityKeyIdentifierExtension(caKeyId)
        : await x.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  await writePair(out, cert, keys.privateKey);
}

/**
 * Subject, expiry and fingerprints of a PEM certificate, for `gatekit doctor` and tests. Reads only:
 * it does not check the chain, the key or the dates.
 */
export function certificateInfo(pemPath: string): CertificateInfo {
  const cert = new NodeX509(readFileSync(pemPath));
  return {
    subject: cert.subject,
    notAfter: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
    thumbprint: createHash('sha256').update(cert.raw).digest('base64url'),
  };
}
