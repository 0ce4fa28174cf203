import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

export const daemonCommand: Command = (cli, io) =>
  cli.command(
    'daemon',
    'serve every [servers.*] over MCP Streamable HTTP (Unix socket or loopback mTLS); SIGHUP reloads, SIGTERM drains',
    (y: Argv) =>
      y
        .option('check', {
          type: 'boolean',
          default: false,
          describe:
            'load the config, audit key and file, trusted keys and TLS files as the daemon would, start nothing; exit 0 or 2',
        })
        .example('gatekit daemon', 'then: gatekit client-config claude NAME')
        .example('gatekit daemon --check', 'before a restart: is the edited config one the daemon starts with?'),
    handler(async (args: CommonArgs & { check: boolean }) => {
      const config = await loadConfigFor(args, io);
      const [{ startDaemon, checkDaemon }, { formatListen }] = await Promise.all([
        import('../../daemon/index.js'),
        import('../../config/index.js'),
      ]);
      if (args.check) {
        for (const { key, detail } of await checkDaemon(config, io.err)) io.out(`✔ ${key.padEnd(20)} ${detail}\n`);
        io.out('the daemon would start with this config (nothing was started)\n');
        return;
      }
      const daemon = await startDaemon(config, io.err);
      for (const server of config.servers.values())
        io.err(`serving ${server.name} on ${formatListen(server.listen)} (aud ${server.resource})`);
      io.err(`audit log: ${config.daemon.audit_log === '-' ? 'stdout' : config.daemon.audit_log}`);
      process.on('SIGHUP', () => {
        daemon.reload().then(
          () => io.err('reloaded config, trusted keys and policy'),
          (err: Error) => io.err(`gatekit: reload failed, keeping the previous config: ${err.message}`),
        );
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          const boundMs = daemon.stopBoundMs();
          io.err(`${signal}: draining and stopping (within ${Math.ceil(boundMs / 1000)} s)`);
          // Whatever a child or a connection does, the process ends within the bound (docs/security.md).
          let stopped = false;
          setTimeout(() => {
            if (!stopped) io.err(`gatekit daemon: not stopped within ${Math.ceil(boundMs / 1000)} s; exiting anyway`);
            process.exit(stopped ? undefined : 1);
          }, boundMs).unref();
          void daemon.stop().then(() => {
            stopped = true;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    }),
  );
