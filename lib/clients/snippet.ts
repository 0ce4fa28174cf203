import type { Config } from '../config/index.js';
import { serverByName } from '../config/index.js';

const CLIENT_KINDS = ['claude', 'vscode', 'cursor', 'json', 'inspector'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** How an MCP client launches `gatekit connect NAME`: absolute paths, as clients start servers with a bare PATH. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  /** The config file, also as GATEKIT_CONFIG for clients that would take `--config` for themselves. */
  readonly config: string;
  /** GATEKIT_HOME where it is set: a client that starts servers with a bare environment must pass it on. */
  readonly home?: string | undefined;
}

export function connectLaunch(
  config: Config,
  name: string,
  gatekit: readonly [string, ...string[]],
  home?: string,
): Launch {
  serverByName(config, name);
  const [command, ...prefix] = gatekit;
  return { command, args: [...prefix, 'connect', name, '--config', config.file], config: config.file, home };
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/**
 * The exact snippet or command that registers server NAME in an MCP client. Every client gets the
 * stdio bridge: none of them can present the daemon's client certificate or reach a Unix socket
 * themselves, and the bridge renews tokens and re-logs in without the client noticing.
 */
export function clientSnippet(kind: ClientKind, name: string, launch: Launch): string {
  const stdio = { command: launch.command, args: [...launch.args] };
  switch (kind) {
    case 'claude':
      return `claude mcp add --scope user ${quote(name)} -- ${[launch.command, ...launch.args].map(quote).join(' ')}\n`;
    case 'vscode':
      return `code --add-mcp ${quote(JSON.stringify({ name, type: 'stdio', ...stdio }))}\n`;
    case 'cursor': {
      const deeplink = `cursor://anysphere.cursor-deeplink/mcp/install?name=${encodeURIComponent(name)}&config=${Buffer.from(JSON.stringify(stdio)).toString('base64')}`;
      return `# add to ~/.cursor/mcp.json (or open the link below)\n${JSON.stringify({ mcpServers: { [name]: stdio } }, null, 2)}\n${deeplink}\n`;
    }
    case 'json':
      return `${JSON.stringify({ mcpServers: { [name]: stdio } }, null, 2)}\n`;
    case 'inspector': {
      // The MCP Inspector CLI reads `--config` (and `-e`, `--method`…) wherever they stand, so Gatekit's config
      // goes in GATEKIT_CONFIG and the bridge's arguments carry no flag at all.
      const bare = launch.args.slice(0, launch.args.indexOf('connect') + 2);
      const line = [
        'npx',
        '-y',
        '@modelcontextprotocol/inspector',
        '--cli',
        '-e',
        `GATEKIT_CONFIG=${launch.config}`,
        ...(launch.home ? ['-e', `GATEKIT_HOME=${launch.home}`] : []),
        launch.command,
        ...bare,
        '--method',
        'tools/list',
      ];
      return `${line.map(quote).join(' ')}\n`;
    }
  }
}
