import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Config, ServerConfig } from '../config/index.js';
import { formatListen } from '../config/index.js';
import { GatekitError } from '../errors.js';

const TUNING = { keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 0 };

/**
 * Binds one server's listener: a Unix socket (0600, or 0660 with [daemon] socket_group; a stale
 * socket from a dead daemon is replaced, a live one is an error) or loopback TCP with mutual TLS
 * (a client certificate from the local CA is required).
 */
export async function bindListener(config: Config, server: ServerConfig, handler: RequestListener): Promise<Server> {
  const where = formatListen(server.listen);
  if (server.listen.kind === 'tcp') {
    const tls = config.daemon.tls;
    if (!tls) throw new GatekitError('CONFIG_INVALID', `${config.file}: servers.${server.name} listens on TCP, which needs [daemon] tls`, { hint: 'add tls = { ca, cert, key } and run "gatekit init"' });
    let files;
    try {
      files = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
    } catch (cause) {
      throw new GatekitError('CONFIG_INVALID', `${config.file}: cannot read daemon.tls files: ${(cause as Error).message}`, { hint: 'run "gatekit init"', cause });
    }
    const https = createHttpsServer({ ...files, ...TUNING, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, handler);
    await listen(https, where, () => https.listen(server.listen.kind === 'tcp' ? server.listen.port : 0, server.listen.kind === 'tcp' ? server.listen.host : undefined));
    return https;
  }
  const path = server.listen.path;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await removeStaleSocket(path, server.name);
  const http = createHttpServer(TUNING, handler);
  await listen(http, where, () => http.listen(path));
  const group = config.daemon.socket_group;
  if (group) {
    chownSync(path, process.getuid?.() ?? -1, groupId(config, group));
    chmodSync(path, 0o660);
  } else {
    chmodSync(path, 0o600);
  }
  return http;
}

function listen(server: Server, where: string, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new GatekitError('CONFIG_INVALID', `cannot listen on ${where}: ${err.code ?? err.message}`, {
      hint: err.code === 'EADDRINUSE' ? 'another process uses that port; change the listen address' : 'check the listen address', cause: err,
    })));
    server.once('listening', () => resolve());
    start();
  });
}

async function removeStaleSocket(path: string, name: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => { socket.destroy(); resolve(true) });
    socket.once('error', () => resolve(false));
  });
  if (live) throw new GatekitError('CONFIG_INVALID', `another daemon already serves ${name} on ${path}`, { hint: 'stop it first, or change servers.' + name + '.listen' });
  try { unlinkSync(path) } catch { /* nothing there */ }
}

function groupId(config: Config, group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    return Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);
  } catch {
    throw new GatekitError('CONFIG_INVALID', `${config.file}: daemon.socket_group "${group}" is not a group on this machine`);
  }
}
