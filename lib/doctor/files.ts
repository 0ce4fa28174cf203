import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { Config } from '../config/index.js';
import { keyFiles, needsLocalCa } from '../setup/index.js';
import { readJwksFile } from '../token/index.js';
import { fail, pass, type CheckResult } from './result.js';

const WEEK = 7 * 24 * 3600 * 1000;

function privateFile(config: Config, name: string, path: string): CheckResult {
  const shown = relative(config.dir, path) || path;
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return fail(name, `${shown} is missing`, `run "gatekit init --config ${config.file}"`);
  }
  if (mode & 0o077) return fail(name, `${shown} is mode ${mode.toString(8)}: others can read it`, `chmod 600 ${path}`);
  return pass(name, `${shown} (0${mode.toString(8)})`);
}

function certificate(config: Config, name: string, path: string, now: number): CheckResult {
  const shown = relative(config.dir, path) || path;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(path));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return fail(
      name,
      missing ? `${shown} is missing` : `${shown} is not a PEM certificate`,
      `run "gatekit init --config ${config.file}"${missing ? '' : ' --force'}`,
    );
  }
  const until = Date.parse(cert.validTo);
  if (until <= now)
    return fail(name, `${shown} expired ${cert.validTo}`, `run "gatekit init --force --config ${config.file}"`);
  if (until - now < WEEK)
    return fail(name, `${shown} expires ${cert.validTo}`, `run "gatekit init --force --config ${config.file}" soon`);
  return pass(name, `${shown} valid until ${new Date(until).toISOString().slice(0, 10)}`);
}

/** Keys and certificates: present, private where they must be, not expired, and consistent. */
export function fileChecks(config: Config, now = Date.now()): CheckResult[] {
  const results: CheckResult[] = [];
  const files = keyFiles(config);
  if (config.broker.mode === 'local' || config.broker.signing_key)
    results.push(privateFile(config, 'signing key', files.signingKey));
  if (!/^https?:/.test(config.daemon.trusted_keys)) {
    try {
      const jwks = readJwksFile(config.daemon.trusted_keys);
      const signing = (() => {
        try {
          return JSON.parse(readFileSync(files.signingKey, 'utf8')).kid as string;
        } catch {
          return undefined;
        }
      })();
      if (signing && !jwks.keys.some((k) => k.kid === signing)) {
        results.push(
          fail(
            'trusted keys',
            `${relative(config.dir, config.daemon.trusted_keys)} does not contain the signing key ${signing}`,
            'run "gatekit keys jwks" and check [daemon] trusted_keys',
          ),
        );
      } else
        results.push(
          pass('trusted keys', `${jwks.keys.length} key(s): ${jwks.keys.map((k) => k.kid.slice(0, 8)).join(', ')}`),
        );
    } catch (err) {
      results.push(fail('trusted keys', (err as Error).message, `run "gatekit init --config ${config.file}"`));
    }
  }
  const needsTls = needsLocalCa(config);
  if (needsTls && config.daemon.tls) {
    results.push(certificate(config, 'CA certificate', config.daemon.tls.ca, now));
    results.push(certificate(config, 'daemon cert', config.daemon.tls.cert, now));
    results.push(privateFile(config, 'daemon cert key', config.daemon.tls.key));
  }
  if (needsTls && config.daemon.client_tls) {
    results.push(certificate(config, 'client cert', config.daemon.client_tls.cert, now));
    results.push(privateFile(config, 'client cert key', config.daemon.client_tls.key));
  }
  return results;
}
