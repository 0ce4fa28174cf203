import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Config, ServerConfig } from '../config/index.js';
import { stopBoundMs } from '../daemon/index.js';
import { GatekitError } from '../errors.js';

/** How long past the daemon's own stop bound `gatekit dev` waits before it kills the daemon. */
const DAEMON_EXIT_MARGIN_MS = 2000;

export const GATEKIT_BIN = fileURLToPath(new URL('../../bin/gatekit.js', import.meta.url));

export interface DaemonProcess {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs `gatekit daemon` for the config as a child process — exactly what a person would run — and
 * resolves once every Unix-socket server answers /healthz. Its stderr lines are passed to `say`.
 */
export async function startDaemonProcess(
  config: Config,
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
  timeoutMs = 15_000,
): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [GATEKIT_BIN, 'daemon', '--config', config.file], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let last = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    for (const line of d.split('\n').filter(Boolean)) {
      last = line;
      say(`[daemon] ${line}`);
    }
  });
  // The daemon exits within its own stop bound; SIGKILL only if it somehow did not.
  const boundMs = stopBoundMs(config.daemon.limits.drain_timeout) + DAEMON_EXIT_MARGIN_MS;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    const deadline = Date.now() + timeoutMs;
    for (const server of config.servers.values()) {
      while (!(await healthy(server))) {
        if (child.exitCode !== null)
          throw new GatekitError('CHILD_FAILED', `the daemon exited (${child.exitCode}): ${last}`);
        if (Date.now() > deadline)
          throw new GatekitError(
            'DAEMON_UNREACHABLE',
            `the daemon did not serve ${server.name} within ${timeoutMs / 1000} s`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, stop };
}

/** A daemon already answers /healthz for this server (a TCP listener is taken on trust). */
export const serves = (server: ServerConfig): Promise<boolean> => healthy(server);

function healthy(server: ServerConfig): Promise<boolean> {
  if (server.listen.kind !== 'unix') return Promise.resolve(true);
  const socketPath = server.listen.path;
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/healthz' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}
