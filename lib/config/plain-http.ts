import { GatekitError } from '../errors.js';
import type { BrokerConfig, DaemonConfig, IdpConfig, WorkloadTrust } from './types.js';

const isPlainHttp = (url: string): boolean => /^http:\/\//i.test(url);

/**
 * Outside `[dev]`, no key the daemon trusts may come over plain http, loopback included: any local
 * user who binds that port while it is free serves their own JWKS and forges tokens for anyone.
 * `[daemon] trusted_keys`, `[[trust.workload]] issuer`, and `[idp] issuer` when the daemon verifies
 * its ID tokens (`broker.mode = "daemon"`) must be https or, for keys, a file.
 */
export function checkPlainHttp(
  file: string,
  dev: boolean,
  parts: {
    idp: IdpConfig | undefined;
    broker: BrokerConfig;
    daemon: DaemonConfig;
    workloads: readonly WorkloadTrust[];
  },
): void {
  if (dev) return;
  const refuse = (key: string, url: string, fix: string): never => {
    throw new GatekitError(
      'CONFIG_INVALID',
      `${file}: "${key}" = "${url}" is plain http: any local user who binds that port first serves the keys Gatekit trusts`,
      { hint: `${fix}; plain http is for a [dev] config only` },
    );
  };
  if (isPlainHttp(parts.daemon.trusted_keys)) {
    refuse(
      'daemon.trusted_keys',
      parts.daemon.trusted_keys,
      'a key server on this host publishes its JWKS as a file (its own, not writable by others): set trusted_keys to that path; or use https (a CA in the system store or NODE_EXTRA_CA_CERTS)',
    );
  }
  if (parts.idp && parts.broker.mode === 'daemon' && isPlainHttp(parts.idp.issuer)) {
    refuse('idp.issuer', parts.idp.issuer, 'the daemon verifies ID tokens with its keys: use the https issuer');
  }
  parts.workloads.forEach((w, i) => {
    if (isPlainHttp(w.issuer)) refuse(`trust.workload[${i}].issuer`, w.issuer, 'use the https issuer');
  });
}
