import type { Config, ServerConfig } from '../config/index.js';
import { checkDaemon, probeServer } from '../daemon/index.js';
import type { GatekitError } from '../errors.js';
import { fail, pass, type CheckResult } from './result.js';

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
