import type { AgentSource } from '../../broker/index.js';
import { heldInvocation } from '../invocation.js';
import type { CliIO } from '../io.js';
import type { CommonArgs } from './types.js';

export async function loadConfigFor(args: CommonArgs, io: CliIO) {
  return heldInvocation(io.env).config(args.config);
}

/**
 * The broker for a command, loaded here at the CLI's edge. With `agent`, a token request under
 * `gatekit exec` (the invocation's agent) goes to its agent: `tokenFor` asks it whatever the cache says.
 */
export async function brokerFor(args: CommonArgs, io: CliIO, options: { agent?: boolean } = {}) {
  const config = await loadConfigFor(args, io);
  const socket = options.agent ? heldInvocation(io.env).agent : undefined;
  const broker = await import('../../broker/index.js');
  const agent = socket ? await agentSource(socket, config.file) : undefined;
  return { broker, config, ctx: broker.brokerContext(config, io.env, agent) };
}

async function agentSource(socket: string, configFile: string): Promise<AgentSource> {
  const { agentToken } = await import('../../exec/index.js');
  return (resource, minTtl, proof) => agentToken(socket, resource, minTtl, configFile, proof);
}
