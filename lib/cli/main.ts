import type { Argv } from 'yargs';
import { processIO, type CliIO } from './io.js';
import { forgetInvocation, invocationFor } from './invocation.js';
import { renderError } from './render.js';
import { packageVersion, usageError } from './usage.js';

const EPILOGUE = `Exit codes: 0 ok · 1 other failure · 2 bad usage or config · 3 login required · 4 denied by policy · 5 identity provider or daemon unreachable.
Config: --config PATH, else $GATEKIT_CONFIG, else ./gatekit.toml, else $XDG_CONFIG_HOME/gatekit/gatekit.toml.`;

/** Runs the gatekit CLI and resolves to the exit code; renders every error once, here. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    return await run(argv, io);
  } finally {
    forgetInvocation();
  }
}

async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const debug = argv.includes('--debug');
  const invocation = invocationFor(argv, io.env);
  const plain = invocation.plainToken;
  if (plain && invocation.agent) {
    // Inside `gatekit exec`: its agent holds the login; ask it, whatever the cache says.
    try {
      const [{ agentToken }, { formatToken }, { findConfigFile }] = await Promise.all([
        import('../exec/agent-client.js'),
        import('./token-output.js'),
        import('../config/index.js'),
      ]);
      const configFile = findConfigFile({ config: plain.config, env: io.env });
      const token = await agentToken(invocation.agent, plain.resource, plain.minTtl, configFile);
      io.out(formatToken(token, plain.format));
      return 0;
    } catch (err) {
      return renderError(io, err, debug, argv);
    }
  }
  const fast = invocation.cachedAnswer();
  if (fast) {
    io.out(fast);
    return 0;
  }
  let exitCode = 0;
  try {
    const [{ default: yargs }, { COMMANDS }] = await Promise.all([import('yargs'), import('./commands/index.js')]);
    let cli: Argv = yargs([...argv])
      .scriptName('gatekit')
      .usage('gatekit — a real login in front of local MCP servers\n\nUsage: gatekit <command> [options]')
      .option('config', { type: 'string', describe: 'path to gatekit.toml', global: true })
      .option('debug', { type: 'boolean', describe: 'show error codes and causes', global: true })
      .strict()
      .demandCommand(1, 'name a command')
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version('version', 'print the version of gatekit', packageVersion())
      .epilogue(EPILOGUE)
      .wrap(Math.min(110, process.stdout.columns || 100))
      .exitProcess(false)
      .fail((message: string | undefined, err: Error | undefined) => {
        if (err) throw err;
        throw usageError(message, argv);
      });
    for (const command of COMMANDS)
      cli = command(cli, io, (code) => {
        exitCode = code;
      });
    await cli.parseAsync();
    return exitCode;
  } catch (err) {
    return renderError(io, err, debug, argv);
  }
}
