import { once } from 'node:events';
import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

export const devCommand: Command = (cli, io) =>
  cli.command(
    'dev',
    'quickstart: the embedded DEVELOPMENT-ONLY OpenID provider and the daemon for this config, then what to try next',
    (y: Argv) =>
      y
        .option('demo', {
          type: 'boolean',
          default: false,
          describe:
            'run the whole loop once, unattended: IdP, daemon, login as alice, a tool call through gatekit connect, the audit line; then exit',
        })
        .example('npm start', 'runs "gatekit dev" with the repository\'s gatekit.toml')
        .example('npm run demo', 'runs "gatekit dev --demo"'),
    handler(async (args: CommonArgs & { demo: boolean }) => {
      const config = await loadConfigFor(args, io);
      const { startDev, runDemo, startDaemonProcess } = await import('../../dev/index.js');
      if (args.demo) return runDemo(config, { say: io.err });
      const { gatekitCommand } = await import('../hints.js');
      const dev = await startDev(config, { command: gatekitCommand(io.env) });
      try {
        const daemon = await startDaemonProcess(config, io.env, io.err);
        io.err(dev.banner);
        await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM'), once(daemon.child, 'exit')]);
        io.err('stopping the daemon and the development identity provider');
        await daemon.stop();
      } finally {
        await dev.close();
      }
    }),
  );
