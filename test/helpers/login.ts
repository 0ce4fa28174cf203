import type { CliResult } from './cli.js';
import { collect, spawnGatekit, waitForStderr } from './cli.js';
import { approveDevice } from '../../lib/dev/index.js';
import type { Workspace } from './workspace.js';

export const DEVICE_PROMPT = /open (\S+) and enter the code (\S+)/;

/** Runs `gatekit broker login --flow device` as a person would, approving the code over HTTP as `email`. */
export async function deviceLoginCli(
  ws: Workspace,
  email: string,
  extra: readonly string[] = [],
  options: { deny?: boolean } = {},
): Promise<CliResult> {
  const child = spawnGatekit(['broker', 'login', '--flow', 'device', ...extra], { env: ws.env });
  const done = collect(child, { timeoutMs: 60_000 });
  const [, uri, code] = await waitForStderr(child, DEVICE_PROMPT);
  await approveDevice({ verification_uri: uri!, user_code: code! }, email, options);
  return done;
}
