import type { Config, ServerConfig } from '../config/index.js';
import { checkDaemon, probeServer } from '../daemon/index.js';
import type { GatekitError } from '../errors.js';
import { commandWarnings, packageMismatch, readLock } from '../pins/index.js';
import { fail, pass, warn, type CheckResult } from './result.js';

/** What the daemon loads at start (`gatekit daemon --check`), loaded by the daemon's own functions. */
export async function daemonFilesCheck(config: Config): Promise<CheckResult> {
  try {
    const checks = await checkDaemon(config);
    return pass('daemon start-up', checks.map((c) => c.key).join(', '));
  } catch (err) {
    return fail('daemon start-up', (err as Error).message, (err as GatekitError).hint);
  }
}

/** Starts the server once as the daemon would (initialize, then its end), bounded by start_timeout. */
export async function serverCheck(config: Config, server: ServerConfig): Promise<CheckResult> {
  const result = await probeServer(server, config.daemon.limits.start_timeout * 1000);
  const name = `server: ${server.name}`;
  return result.ok
    ? pass(name, result.detail)
    : fail(name, result.detail, `run its command yourself to see it fail: ${server.command.join(' ')}`);
}

/**
 * The servers' pins: each warning of a command that fetches code at start without an exact version, and for a server
 * whose npx package is pinned in gatekit.lock, whether it still resolves to the pinned version and integrity.
 */
export function pinChecks(config: Config): CheckResult[] {
  const results: CheckResult[] = commandWarnings(config).map((w) => warn('server pins', w));
  let lock;
  try {
    lock = readLock(config.dir);
  } catch (err) {
    return [...results, fail('gatekit.lock', (err as Error).message, (err as GatekitError).hint)];
  }
  for (const server of config.servers.values()) {
    const pins = lock.get(server.name);
    if (!pins?.package) continue;
    const why = packageMismatch(server, pins);
    const name = `package: ${server.name}`;
    results.push(
      why
        ? fail(name, why, `review it, then run "gatekit tools pin ${server.name}"`)
        : pass(name, `${pins.package.name}@${pins.package.version} as pinned`),
    );
  }
  return results;
}
