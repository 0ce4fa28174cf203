import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createAuditKey } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { createKeys } from '../token/index.js';
import { ensureLocalCa } from './ca.js';

export interface InitResult {
  readonly created: readonly string[];
  readonly kept: readonly string[];
}

export function keyFiles(config: Config): { signingKey: string; jwks: string } {
  const signingKey = config.broker.signing_key ?? join(config.dir, 'keys', 'broker.jwk');
  const trusted = config.daemon.trusted_keys;
  return { signingKey, jwks: /^https?:/.test(trusted) ? join(dirname(signingKey), 'broker.jwks') : trusted };
}

/**
 * `gatekit init`: what a fresh setup needs beside the config — signing key, JWKS, the daemon's
 * audit key ([daemon] audit_key, signs audit checkpoints; never the broker's key), and (when
 * anything listens on loopback TCP) the local CA with daemon and client certificates. Idempotent:
 * existing files are kept and listed in `kept` unless `force`, which replaces them all.
 */
export async function initialize(config: Config, options: { force: boolean }): Promise<InitResult> {
  const files = keyFiles(config);
  const created = [...(await createKeys(files, options.force))];
  const kept = created.length ? [] : [files.signingKey, files.jwks].filter(existsSync);
  const auditKey = config.daemon.audit_key;
  (createAuditKey(auditKey, options.force) ? created : kept).push(auditKey);
  const ca = await ensureLocalCa(config, { force: options.force });
  return { created: [...created, ...ca.created], kept: [...kept, ...ca.kept] };
}
