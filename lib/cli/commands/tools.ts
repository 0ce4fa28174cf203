import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

interface ToolsArgs extends CommonArgs {
  readonly name: string;
}

/** The server's tools as it lists them now: started once, as the daemon starts it, then ended. */
async function listNow(args: ToolsArgs, io: Parameters<Command>[1]) {
  const config = await loadConfigFor(args, io);
  const [{ serverByName }, { listServerTools }, pins] = await Promise.all([
    import('../../config/index.js'),
    import('../../daemon/index.js'),
    import('../../pins/index.js'),
  ]);
  const server = serverByName(config, args.name);
  const tools = await listServerTools(server, config.daemon.limits.start_timeout * 1000);
  return { config, server, pins, tools: tools as Array<{ name: string }> };
}

export const toolsCommand: Command = (cli, io, setExit) =>
  cli.command(
    'tools <action>',
    "pin a server's tool definitions (and npx package) in gatekit.lock, or show what changed since",
    (y: Argv) =>
      y
        .command(
          'pin <name>',
          'start the server once and write the fingerprint of every tool it lists to gatekit.lock beside the config',
          (p: Argv) =>
            p
              .positional('name', { type: 'string', describe: 'a [servers.NAME]' })
              .example('gatekit tools pin fs', 'pin the tools of [servers.fs]; review and commit gatekit.lock'),
          handler(async (args: ToolsArgs) => {
            const { config, server, pins, tools } = await listNow(args, io);
            const resolved = pins.resolveNpxPackage(server, io.env);
            const pkg = resolved && { name: resolved.name, version: resolved.version, integrity: resolved.integrity };
            const file = pins.writeLock(config.dir, server.name, pins.pinsOf(tools, pkg));
            const what = pkg ? ` and ${pkg.name}@${pkg.version} (${pkg.integrity.slice(0, 20)}…)` : '';
            io.out(`pinned ${tools.length} tool(s) of ${server.name}${what} in ${file}: review and commit it\n`);
            if (!pkg && pins.npxPackageOf(server))
              io.err(
                `warning: cannot find where npx installed ${pins.npxPackageOf(server)!.spec}: its package is not pinned`,
              );
          }),
        )
        .command(
          'diff <name>',
          'start the server once and show what changed since its tools were pinned; exit 1 when anything did',
          (d: Argv) =>
            d
              .positional('name', { type: 'string', describe: 'a [servers.NAME]' })
              .example('gatekit tools diff fs', 'did [servers.fs] change a tool since it was pinned?'),
          handler(async (args: ToolsArgs) => {
            const { config, server, pins, tools } = await listNow(args, io);
            const pinned = pins.readLock(config.dir).get(server.name);
            if (!pinned) {
              const { GatekitError } = await import('../../errors.js');
              throw new GatekitError('CONFIG_INVALID', `${pins.lockPath(config.dir)} has no pins for ${server.name}`, {
                hint: `run "gatekit tools pin ${server.name}" first`,
              });
            }
            const diff = pins.diffTools(pinned, tools);
            io.out(pins.renderDiff(server.name, diff));
            const moved = pins.packageMismatch(server, pinned, io.env);
            if (moved) io.out(`package: ${moved}\n`);
            if (pins.hasChanges(diff) || moved) setExit(1);
          }),
        )
        .demandCommand(1, 'name an action: pin or diff'),
    () => {},
  );
