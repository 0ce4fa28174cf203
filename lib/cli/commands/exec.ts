import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { brokerFor } from './load.js';

export const execCommand: Command = (cli, io, setExit) =>
  cli.command(
    'exec [command..]',
    'log in if needed, then run a command (e.g. an MCP client) with a private token agent for gatekit connect / broker token',
    (y: Argv) =>
      y
        .option('resource', {
          type: 'string',
          array: true,
          default: [],
          describe: 'also make sure of a token for this server before starting (repeatable)',
        })
        .example(
          'gatekit exec -- claude',
          'run Claude Code; its gatekit connect servers get fresh tokens from the agent',
        )
        .parserConfiguration({ 'populate--': true }),
    handler(async (args: CommonArgs & { resource: string[]; command?: string[]; '--'?: string[] }) => {
      // exec starts its own agent: it asks none (a nested exec holds its own login).
      const [{ ctx }, { execWithAgent }, { browserOpener }] = await Promise.all([
        brokerFor(args, io),
        import('../../exec/index.js'),
        import('../../provider/index.js'),
      ]);
      const command = [...(args.command ?? []), ...(args['--'] ?? [])].map(String);
      const code = await execWithAgent(
        ctx,
        {
          resources: args.resource,
          command,
          interactive: io.isInteractive,
          stdinIsTerminal: Boolean(process.stdin.isTTY),
        },
        { say: io.err, openBrowser: browserOpener(io.env) },
      );
      setExit(code);
    }),
  );
