import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { BrokerContext } from '../broker/index.js';
import { ensureLogin, tokenFor } from '../broker/index.js';
import { GatekitError } from '../errors.js';
import type { LoginIO } from '../provider/index.js';
import { serverByName } from '../config/index.js';
import { AGENT_ENV } from './agent-protocol.js';
import { startTokenAgent } from './agent-server.js';
import { forwardSignals } from './signals.js';

export interface ExecInput {
  readonly resources: readonly string[];
  readonly command: readonly string[];
  /** A person at a terminal: a login may run before the command starts. */
  readonly interactive: boolean;
  readonly stdinIsTerminal: boolean;
}

/**
 * `gatekit exec`: makes sure of a login (and a token per --resource) while the terminal is still
 * ours, then runs the command with a private token agent in its environment, forwarding signals.
 * `GATEKIT_CONFIG` is set to this config's real path, so gatekit inside the command uses it (the agent
 * answers no other). Resolves to the command's exit code (128 + n when a signal ended it). The agent's socket and its
 * directory are gone when this returns.
 */
export async function execWithAgent(ctx: BrokerContext, input: ExecInput, io: LoginIO): Promise<number> {
  const [file, ...args] = input.command;
  if (!file)
    throw new GatekitError('USAGE', 'no command to run', { hint: 'gatekit exec [--resource NAME]… -- CMD [ARGS…]' });
  await ensureLogin(ctx, input.interactive, io);
  for (const name of input.resources) {
    const server = serverByName(ctx.config, name);
    await tokenFor(ctx, { server, minTtl: 60, interactive: input.interactive }, io);
  }

  const agent = await startTokenAgent(ctx, { say: io.say });
  try {
    const env = { ...process.env, [AGENT_ENV]: agent.socketPath, GATEKIT_CONFIG: ctx.store.configFile };
    const child = spawn(file, args, { stdio: 'inherit', env });
    const unforward = forwardSignals(child, input.stdinIsTerminal);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', (cause: NodeJS.ErrnoException) =>
          reject(
            cause.code === 'ENOENT'
              ? new GatekitError('COMMAND_NOT_FOUND', `command not found: ${file}`, {
                  hint: 'check the command after "--" and your PATH',
                })
              : new GatekitError('CHILD_FAILED', `cannot start ${file}: ${cause.message}`, { cause }),
          ),
        );
        child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 1)));
      });
    } finally {
      unforward();
    }
  } finally {
    await agent.close();
  }
}
