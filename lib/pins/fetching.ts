import type { Config, ServerConfig } from '../config/index.js';

/** A server command that fetches code at start: the fetcher, the package as written, and whether it is exact. */
export interface FetchingCommand {
  readonly tool: 'npx' | 'uvx' | 'pipx';
  readonly spec: string;
  /** The npm package's name (npx only). */
  readonly name: string;
  /** The exact version it names, if it names one. */
  readonly version: string | undefined;
}

const EXACT = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
/** npx options that take a value (the package or command follows them). */
const NPX_VALUED = new Set(['-p', '--package', '-c', '--call', '-w', '--workspace']);

/**
 * What `command` fetches at start, if anything: `npx [-y] pkg`, `uvx pkg`, `pipx run pkg` (a path to the program
 * counts too). An exact version is `pkg@1.2.3` (npx, uvx) or `pkg==1.2.3` (uvx, pipx).
 */
function fetchingCommand(command: readonly string[]): FetchingCommand | undefined {
  const program = (command[0] ?? '').split('/').pop();
  if (program === 'npx') {
    let spec: string | undefined;
    for (let i = 1; i < command.length && spec === undefined; i++) {
      const arg = command[i]!;
      if (arg === '-p' || arg === '--package') spec = command[i + 1];
      else if (arg.startsWith('--package=')) spec = arg.slice('--package='.length);
      else if (NPX_VALUED.has(arg)) i++;
      else if (!arg.startsWith('-')) spec = arg;
    }
    if (spec === undefined) return undefined;
    const at = spec.indexOf('@', 1);
    const name = at < 0 ? spec : spec.slice(0, at);
    const version = at < 0 ? undefined : spec.slice(at + 1);
    return { tool: 'npx', spec, name, version: version && EXACT.test(version) ? version : undefined };
  }
  const args =
    program === 'uvx' ? command.slice(1) : program === 'pipx' && command[1] === 'run' ? command.slice(2) : undefined;
  if (!args) return undefined;
  const from = args.findIndex((a) => a === '--from' || a === '--spec');
  const spec = from >= 0 ? args[from + 1] : args.find((a) => !a.startsWith('-'));
  if (spec === undefined) return undefined;
  const exact = /^[A-Za-z0-9._-]+(?:\[[^\]]*\])?(?:==|@)([^=<>~!*,]+)$/.exec(spec)?.[1];
  return { tool: program === 'uvx' ? 'uvx' : 'pipx', spec, name: spec, version: exact };
}

/** The recommended spelling of a fetching command's package, for a warning's advice. */
function exactForm(f: FetchingCommand): string {
  return f.tool === 'npx' ? `${f.name}@1.2.3` : `${f.spec.replace(/[=@].*$/, '')}==1.2.3`;
}

/** One config warning per server whose command fetches code at every start without an exact version. */
export function commandWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (const server of config.servers.values()) {
    const fetching = fetchingCommand(server.command);
    if (!fetching || fetching.version !== undefined) continue;
    warnings.push(
      `servers.${server.name}.command: "${server.command.join(' ')}" fetches "${fetching.spec}" at every start ` +
        `without an exact version, so any session may run other code; name one (${exactForm(fetching)}) ` +
        'or install the server locally, then run "gatekit tools pin ' +
        `${server.name}"`,
    );
  }
  return warnings;
}

/** Whether `server` is started by npx (its package can be pinned). */
export function npxPackageOf(server: ServerConfig): FetchingCommand | undefined {
  const fetching = fetchingCommand(server.command);
  return fetching?.tool === 'npx' ? fetching : undefined;
}
