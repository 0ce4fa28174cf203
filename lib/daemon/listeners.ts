import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Config, Listen, ServerConfig } from '../config/index.js';
import { formatListen } from '../config/index.js';
import { GatekitError } from '../errors.js';

const TUNING = { keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 0 };

/**
 * Binds one server's listener: a Unix socket (0600, or 0660 with [daemon] socket_group; a stale
 * socket from a dead daemon is replaced, a live one is an error) or loopback TCP with mutual TLS
 * (a client certificate from the local CA is required).
 */
export async function bindListener(config: Config, server: ServerConfig, handler: RequestListener): Promise<Server> {
  if (server.listen.kind === 'tcp') return bindMtls(config, server.listen, handler, `servers.${server.name}`);
  const group = config.daemon.socket_group;
  return bindUnix(
    server.listen.path,
    handler,
    group ? { mode: 0o660, gid: groupId(config, group) } : { mode: 0o600 },
    server.name,
  );
}

/**
 * [daemon] token_listen, for lib/exchange's token endpoint: a Unix socket at 0666, which is fine because it grants
 * nothing without a subject token the daemon accepts, or loopback TCP with mutual TLS.
 */
export async function bindTokenListener(config: Config, handler: RequestListener): Promise<Server> {
  const at = config.daemon.token_listen;
  if (!at) throw new TypeError('bindTokenListener needs [daemon] token_listen');
  if (at.kind === 'unix') return bindUnix(at.path, handler, { mode: 0o666 }, 'the token endpoint');
  return bindMtls(config, at, handler, 'daemon.token_listen');
}

/** Loopback TCP with mutual TLS: only clients with a certificate from the local CA get in. */
async function bindMtls(
  config: Config,
  address: Extract<Listen, { kind: 'tcp' }>,
  handler: RequestListener,
  key: string,
): Promise<Server> {
  const tls = config.daemon.tls;
  if (!tls)
    throw new GatekitError('CONFIG_INVALID', `${config.file}: ${key} listens on TCP, which needs [daemon] tls`, {
      hint: 'add tls = { ca, cert, key } and run "gatekit init"',
    });
  let files;
  try {
    files = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  } catch (cause) {
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: cannot read daemon.tls files: ${(cause as Error).message}`,
      { hint: 'run "gatekit init"', cause },
    );
  }
  const https = createHttpsServer(
    { ...files, ...TUNING, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    handler,
  );
  await listen(https, formatListen(address), () => https.listen(address.port, address.host));
  return https;
}

/** A Unix socket with the given mode (and group); a stale socket file is replaced, a live one is an error. */
async function bindUnix(
  path: string,
  handler: RequestListener,
  access: { mode: number; gid?: number },
  name: string,
): Promise<Server> {
  // A socket others may use needs a directory they can enter; a private one stays private.
  mkdirSync(dirname(path), { recursive: true, mode: access.mode & 0o066 ? 0o755 : 0o700 });
  await removeStaleSocket(path, name);
  const http = createHttpServer(TUNING, handler);
  await listen(http, `unix:${path}`, () => http.listen(path));
  if (access.gid !== undefined) chownSync(path, process.getuid?.() ?? -1, access.gid);
  chmodSync(path, access.mode);
  return http;
}

function listen(server: Server, where: string, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new GatekitError('CONFIG_INVALID', `cannot listen on ${where}: ${err.code ?? err.message}`, {
          hint:
            err.code === 'EADDRINUSE'
              ? 'another process uses that port; change the listen address'
              : 'check the listen address',
          cause: err,
        }),
      ),
    );
    server.once('listening', () => resolve());
    start();
  });
}

/** Only a socket is ever removed: a regular file, directory or link at the path is someone's data. */
async function removeStaleSocket(path: string, name: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; /* nothing there */
  }
  if (!isSocket) {
    const what = `${name} would listen on ${path}, which exists and is not a socket; Gatekit never replaces it`;
    throw new GatekitError('CONFIG_INVALID', what, {
      hint: 'choose another "unix:PATH" for listen, or move that file away',
    });
  }
  const live = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (live)
    throw new GatekitError('CONFIG_INVALID', `another daemon already serves ${name} on ${path}`, {
      hint: 'stop it first, or change its listen address',
    });
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function groupId(config: Config, group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    return Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);
  } catch {
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: daemon.socket_group "${group}" is not a group on this machine`,
    );
  }
}
