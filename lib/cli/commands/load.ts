import type { CliIO } from '../io.js';
import type { CommonArgs } from './types.js';

export async function loadConfigFor(args: CommonArgs, io: CliIO) {
  const { loadConfig } = await import('../../config/index.js');
  return loadConfig({ config: args.config, env: io.env });
}
