import { once } from 'node:events';
import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

export const devCommand: Command = (cli, io) => cli.command(
  'dev',
  'quickstart: run the embedded DEVELOPMENT-ONLY OpenID provider (and keys) for this config',
  (y: Argv) => y.example('npm start', 'runs "gatekit dev" with the repository\'s gatekit.toml'),
  handler(async (args: CommonArgs) => {
    const config = await loadConfigFor(args, io);
    const { startDev } = await import('../../dev/index.js');
    const dev = await startDev(config);
    io.err(dev.banner);
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
    io.err('stopping the development identity provider');
    await dev.close();
  }),
);
