import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { Config, TlsFiles } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../files.js';
import {
  certificateInfo,
  createCa,
  issueLeaf,
  loadCa,
  type CertificateInfo,
  type LeafKind,
  type PemFiles,
} from './x509.js';

export { certificateInfo } from './x509.js';
export type { CertificateInfo, PemFiles } from './x509.js';

/** The subject CN of the client certificate `gatekit init` issues. */
const CLIENT_CN = 'gatekit-client';
const DAEMON_CN = 'gatekit-daemon';

/** What `ensureLocalCa` wrote and what it found and left alone (absolute paths). */
export interface SetupFiles {
  readonly created: string[];
  readonly kept: string[];
}

/**
 * Where a CA is read from: the CA certificate's path (its key beside it, `ca.pem` → `ca.key`), a
 * `TlsFiles` such as `config.daemon.tls` (its `ca`, key beside it), or the CA's own `{cert, key}`.
 */
export type CaSource = string | { readonly ca: string } | PemFiles;

/** The CA's private key lives beside its certificate: `ca.pem` → `ca.key`. */
const caKeyFile = (caCert: string): string => `${caCert.slice(0, caCert.length - extname(caCert).length)}.key`;

/** Whether anything listens on loopback TCP, which is always mutual TLS with the local CA. */
export const needsLocalCa = (config: Config): boolean =>
  [...config.servers.values()].some((s) => s.listen.kind === 'tcp') || config.daemon.token_listen?.kind === 'tcp';

function caFiles(source: CaSource): PemFiles {
  if (typeof source === 'string') return { cert: source, key: caKeyFile(source) };
  if ('ca' in source) return { cert: source.ca, key: caKeyFile(source.ca) };
  return source;
}

interface Leaf {
  readonly files: TlsFiles;
  readonly kind: LeafKind;
  readonly cn: string;
}

const RECREATE = 'run "gatekit init --force" to create a new local CA with new daemon and client certificates';

/**
 * `gatekit init`'s CA part, for the daemon's loopback mutual-TLS listeners: when a server or the
 * token endpoint listens on TCP (or a CA already exists at `daemon.tls.ca`), a self-signed P-256 CA
 * (`ca.pem` + `ca.key`), the daemon's server certificate (`daemon.tls`) and the client certificate
 * `gatekit connect` presents (`daemon.client_tls`). When `client_tls.ca` is another file than
 * `tls.ca`, it gets a copy of the CA certificate. Keys are written 0600, certificates 0644.
 *
 * Without `force` it never replaces a file: existing certificates are kept, a missing daemon or
 * client certificate is issued from the existing CA, and whatever would need a file replaced (a
 * missing CA with certificates still present; a certificate without its key) is a `FILE_EXISTS`
 * error whose hint is `--force`. With `force` the CA and both certificates are all new.
 * It does not check that kept certificates chain to the CA or are still valid (`gatekit doctor` does).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5280 (certificate profile)
 */
export async function ensureLocalCa(config: Config, options: { force: boolean }): Promise<SetupFiles> {
  const created: string[] = [];
  const kept: string[] = [];
  const tls = config.daemon.tls;
  const ca: PemFiles | undefined = tls && { cert: tls.ca, key: caKeyFile(tls.ca) };
  if (!tls || !ca || (!needsLocalCa(config) && !existsSync(ca.cert))) return { created, kept };
  const client = config.daemon.client_tls;
  const leaves: Leaf[] = [{ files: tls, kind: 'server', cn: DAEMON_CN }];
  if (client) leaves.push({ files: client, kind: 'client', cn: CLIENT_CN });

  const isNewCa = options.force || !existsSync(ca.cert);
  const toIssue = leaves.filter((l) => isNewCa || !existsSync(l.files.cert) || !existsSync(l.files.key));
  // `gatekit connect` checks the daemon against client_tls.ca; when that is another file it needs the CA too.
  const trustCopy = client && client.ca !== ca.cert && (isNewCa || !existsSync(client.ca)) ? client.ca : undefined;
  const writes = [
    ...(isNewCa ? [ca.cert, ca.key] : []),
    ...toIssue.flatMap((l) => [l.files.cert, l.files.key]),
    ...(trustCopy ? [trustCopy] : []),
  ];

  if (!options.force) {
    const clash = writes.find((f) => existsSync(f));
    if (clash) {
      const leaf = toIssue.find((l) => l.files.cert === clash || l.files.key === clash);
      const why = isNewCa
        ? `the CA certificate ${ca.cert} is missing, and a new CA would replace it`
        : leaf
          ? `${leaf.files.cert === clash ? leaf.files.key : leaf.files.cert} is missing, and a new pair would replace it`
          : 'a new file would replace it';
      throw new GatekitError('FILE_EXISTS', `${clash} exists but ${why}`, {
        hint: `restore the missing file, or ${RECREATE}`,
      });
    }
    if (!isNewCa && toIssue.length > 0 && !existsSync(ca.key)) {
      throw new GatekitError(
        'KEY_INVALID',
        `cannot issue ${toIssue[0]!.files.cert}: the local CA's private key ${ca.key} is missing`,
        { hint: `put the key of ${ca.cert} there, or ${RECREATE}` },
      );
    }
  }

  const authority = isNewCa ? await createCa(ca) : toIssue.length > 0 ? await loadCa(ca) : undefined;
  for (const leaf of toIssue) await issueLeaf(authority!, leaf.files, leaf.kind, leaf.cn);
  if (trustCopy) {
    if (!existsSync(dirname(trustCopy))) ensurePrivateDir(dirname(trustCopy));
    writeFileAtomic(trustCopy, readFileSync(ca.cert), 0o644);
  }
  created.push(...writes);
  const all = [ca.cert, ca.key, ...leaves.flatMap((l) => [l.files.cert, l.files.key]), ...(client ? [client.ca] : [])];
  kept.push(...new Set(all.filter((f) => !writes.includes(f) && existsSync(f))));
  return { created, kept };
}

/**
 * Issues one more client certificate (clientAuth, subject CN `cn`) from an existing local CA and
 * writes it to `out` (key 0600, certificate 0644), replacing what is there: e.g. one per person, or a
 * second one to show that an RFC 8705 `cnf`-bound token is refused with any other certificate.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3.1 (x5t#S256, the returned `thumbprint`)
 */
export async function issueClientCertificate(
  ca: CaSource,
  out: PemFiles,
  cn: string = CLIENT_CN,
): Promise<CertificateInfo> {
  if (typeof cn !== 'string' || cn === '') throw new TypeError('issueClientCertificate: cn must be a non-empty string');
  await issueLeaf(await loadCa(caFiles(ca)), out, 'client', cn);
  return certificateInfo(out.cert);
}
