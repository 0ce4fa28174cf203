import { accessSync, closeSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadAuditKey, openAuditFile, readAnchor } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { readTlsFiles } from '../http/index.js';
import { openTrustedKeys } from '../token/index.js';
import { commandWarnings, lockPath, readLock } from '../pins/index.js';

/** One thing `gatekit daemon --check` loaded: the config key and what it found there. */
export interface DaemonCheck {
  readonly key: string;
  readonly detail: string;
}

/**
 * `gatekit daemon --check`: loads what startDaemon loads, with the daemon's own functions — the audit key
 * (loadAuditKey), the audit file (openAuditFile, without writing a line), its anchor (readAnchor), the trusted keys
 * (openTrustedKeys),
 * the TLS files of a TCP listener (readTlsFiles) — and starts nothing: no listener, no child, no audit line.
 * Throws the daemon's own error for the first that fails, its message led by the config key to fix.
 */
export async function checkDaemon(config: Config, say: (line: string) => void = () => {}): Promise<DaemonCheck[]> {
  const checks: DaemonCheck[] = [{ key: 'config', detail: `${config.file} (${config.servers.size} server(s))` }];
  const step = async (key: string, load: () => string | Promise<string>) => {
    try {
      checks.push({ key, detail: await load() });
    } catch (err) {
      if (!(err instanceof GatekitError)) throw err;
      throw new GatekitError(err.code, `${key}: ${err.message}`, { hint: err.hint, cause: err });
    }
  };
  const { audit_key: auditKey, audit_log: auditLog, trusted_keys: trusted, tls } = config.daemon;
  await step('daemon.audit_key', () => {
    if (!existsSync(auditKey)) return `${auditKey} does not exist yet: the daemon creates it`;
    return `${auditKey} (${loadAuditKey(auditKey).kid})`;
  });
  await step('daemon.audit_log', () => auditFile(auditLog, config.daemon.socket_group !== undefined));
  const anchor = config.daemon.audit_anchor;
  if (anchor !== undefined)
    await step('daemon.audit_anchor', () => {
      const at = readAnchor(anchor);
      return at ? `${anchor} (checkpoint ${at.seq})` : `${anchor} does not exist yet: the daemon writes it`;
    });
  await step('daemon.trusted_keys', async () => {
    await openTrustedKeys(trusted, { say });
    return trusted;
  });
  const tcp = [...config.servers.values()].filter((s) => s.listen.kind === 'tcp').map((s) => s.name);
  if (tcp.length)
    await step('daemon.tls', () => {
      if (!tls)
        throw new GatekitError('CONFIG_INVALID', `servers ${tcp.join(', ')} listen on TCP, which needs [daemon] tls`, {
          hint: 'add tls = { ca, cert, key } and run "gatekit init"',
        });
      readTlsFiles(tls, config.file, 'daemon.tls');
      return `${tls.cert} for ${tcp.join(', ')}`;
    });
  await step('gatekit.lock', () => {
    const lock = readLock(config.dir);
    const pinned = [...lock.keys()].filter((name) => config.servers.has(name));
    return pinned.length ? `${lockPath(config.dir)} (pins for ${pinned.join(', ')})` : 'no pins';
  });
  for (const warning of commandWarnings(config)) say(`warning: ${warning}`);
  return checks;
}

/** The audit file opened as the daemon opens it, then closed; a missing one is created only by the daemon. */
function auditFile(path: string, groupReadable: boolean): string {
  if (path === '-') return 'stdout';
  if (!existsSync(path)) {
    try {
      accessSync(dirname(path), constants.W_OK);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new GatekitError('CONFIG_INVALID', `cannot create the audit log ${path}: ${code}`, {
        hint: 'check [daemon] audit_log and that its directory exists and is writable',
        cause,
      });
    }
    return `${path} does not exist yet: the daemon creates it`;
  }
  closeSync(openAuditFile(path, groupReadable ? 0o640 : 0o600));
  return `${path} (appendable)`;
}
