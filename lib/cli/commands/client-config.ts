import { realpathSync } from 'node:fs';
import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

const KINDS = ['claude', 'vscode', 'cursor', 'json', 'inspector'] as const;

export const clientConfigCommand: Command = (cli, io) =>
  cli.command(
    'client-config <client> <name>',
    'print the command or snippet that registers server NAME in an MCP client (via gatekit connect)',
    (y: Argv) =>
      y
        .positional('client', {
          choices: KINDS,
          describe:
            'claude (Claude Code), vscode, cursor, json (generic mcpServers), or inspector (the MCP Inspector CLI: lists the tools)',
        })
        .positional('name', { type: 'string', describe: 'a [servers.NAME] from gatekit.toml' })
        .example('gatekit client-config claude everything', 'prints a "claude mcp add …" command to run once'),
    handler(async (args: CommonArgs & { client: (typeof KINDS)[number]; name: string }) => {
      const config = await loadConfigFor(args, io);
      const { clientSnippet, connectLaunch } = await import('../../clients/index.js');
      const gatekit = [process.execPath, realpathSync(process.argv[1]!)] as const;
      const launch = connectLaunch(config, args.name, gatekit, io.env['GATEKIT_HOME']);
      io.out(clientSnippet(args.client, args.name, launch));
    }),
  );
