import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { brokerFor } from './load.js';

export const connectCommand: Command = (cli, io) =>
  cli.command(
    'connect <name>',
    'stdio ⇄ daemon bridge for server NAME: MCP clients launch this; it attaches and renews tokens itself',
    (y: Argv) =>
      y
        .positional('name', { type: 'string', describe: 'a [servers.NAME] from gatekit.toml' })
        .example('gatekit client-config claude NAME', 'prints the command that registers this bridge in Claude Code'),
    handler(async (args: CommonArgs & { name: string }) => {
      const [{ ctx }, { Bridge }] = await Promise.all([
        brokerFor(args, io, { agent: true }),
        import('../../bridge/index.js'),
      ]);
      const bridge = new Bridge(ctx, args.name, {
        stdin: process.stdin,
        write: (message) => {
          process.stdout.write(`${JSON.stringify(message)}\n`);
        },
        say: io.err,
      });
      const stop = () => {
        void bridge.close().finally(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await bridge.run();
    }),
  );
