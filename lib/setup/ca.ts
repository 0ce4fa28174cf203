import { X509Certificate as NodeX509, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, extname } from 'node:path';
import type { Config, TlsFiles } from '../config/index.js';
import { writeFileAtomic } from '../files.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

type X509Module = typeof import('@peculiar/x509');
let loaded: X509Module | undefined;
async function x509(): Promise<X509Module> {
  if (!loaded) {
    // @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
    await import('reflect-metadata');
    loaded = await import('@peculiar/x509');
    loaded.cryptoProvider.set(webcrypto as never);
  }
  return loaded;
}

const serial = () => `7f${randomBytes(15).toString('hex')}`;

/** The CA's private key lives beside its certificate: ca.pem → ca.key. */
export const caKeyFile = (caCert: string) => `${caCert.slice(0, caCert.length - extname(caCert).length)}.key`;

async function privatePem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function write(path: string, pem: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, pem, mode);
}

interface Ca { readonly cert: import('@peculiar/x509').X509Certificate; readonly key: CryptoKey }

async function createCa(certFile: string): Promise<Ca> {
  const x = await x509();
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Gatekit local CA (${hostname().replace(/[,=+<>#;"\\]/g, '')})`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  write(caKeyFile(certFile), await privatePem(keys.privateKey), 0o600);
  write(certFile, cert.toString('pem'), 0o644);
  return { cert, key: keys.privateKey };
}

async function loadCa(certFile: string): Promise<Ca> {
  const x = await x509();
  const cert = new x.X509Certificate(readFileSync(certFile, 'utf8'));
  const der = x.PemConverter.decodeFirst(readFileSync(caKeyFile(certFile), 'utf8'));
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']) as CryptoKey;
  return { cert, key };
}

/** Issues a leaf certificate from the CA: the daemon's (serverAuth, loopback names) or a client's (clientAuth). */
async function issue(ca: Ca, out: { cert: string; key: string }, kind: 'server' | 'client', cn: string): Promise<void> {
  const x = await x509();
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn.replace(/[,=+<>#;"\\]/g, '')}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 825 * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
      new x.ExtendedKeyUsageExtension([kind === 'server' ? x.ExtendedKeyUsage.serverAuth : x.ExtendedKeyUsage.clientAuth]),
      ...(kind === 'server' ? [new x.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }, { type: 'dns', value: 'localhost' }])] : []),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  write(out.key, await privatePem(keys.privateKey), 0o600);
  write(out.cert, cert.toString('pem'), 0o644);
}

/** A further client certificate from the existing CA (e.g. one per person, for RFC 8705 binding). */
export async function issueClientCertificate(caCert: string, out: { cert: string; key: string }, cn: string): Promise<void> {
  await issue(await loadCa(caCert), out, 'client', cn);
}

/**
 * `gatekit init`'s CA part: when any server (or the token endpoint) listens on TCP, a local CA
 * (P-256, 10 years, pathlen 0), a daemon certificate for 127.0.0.1, ::1 and localhost, and a
 * client certificate. Keys 0600. Existing files are kept unless `force`; a missing leaf is issued
 * from the existing CA.
 */
export async function ensureLocalCa(config: Config, force: boolean): Promise<{ created: string[]; kept: string[] }> {
  const created: string[] = [];
  const kept: string[] = [];
  const needed = [...config.servers.values()].some((s) => s.listen.kind === 'tcp') || config.daemon.token_listen?.kind === 'tcp';
  const tls = config.daemon.tls;
  if (!tls || (!needed && !existsSync(tls.ca) && !force)) return { created, kept };
  let ca: Ca;
  if (force || !existsSync(tls.ca) || !existsSync(caKeyFile(tls.ca))) {
    ca = await createCa(tls.ca);
    created.push(tls.ca, caKeyFile(tls.ca));
    force = true;
  } else {
    ca = await loadCa(tls.ca);
    kept.push(tls.ca);
  }
  const leaves: Array<[TlsFiles | undefined, 'server' | 'client', string]> = [
    [tls, 'server', 'gatekit-daemon'],
    [config.daemon.client_tls, 'client', 'gatekit-client'],
  ];
  for (const [files, kind, cn] of leaves) {
    if (!files) continue;
    if (!force && existsSync(files.cert) && existsSync(files.key)) { kept.push(files.cert); continue }
    await issue(ca, files, kind, cn);
    created.push(files.cert, files.key);
  }
  return { created, kept };
}

/** Subject, expiry and SHA-256 fingerprint of a PEM certificate (for doctor). */
export function certificateInfo(pemPath: string): { subject: string; notAfter: Date; fingerprint256: string } {
  const cert = new NodeX509(readFileSync(pemPath));
  return { subject: cert.subject, notAfter: new Date(cert.validTo), fingerprint256: cert.fingerprint256 };
}
