import type { Config } from '../config/index.js';
import { serverByName } from '../config/index.js';

const CLIENT_KINDS = ['claude', 'vscode', 'cursor', 'json'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** How an MCP client launches `gatekit connect NAME`: absolute paths, as clients start servers with a bare PATH. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
}

export function connectLaunch(config: Config, name: string, gatekit: readonly [string, ...string[]]): Launch {
  serverByName(config, name);
  const [command, ...prefix] = gatekit;
  return { command, args: [...prefix, 'connect', name, '--config', config.file] };
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
  }
}
