import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Config, Listen, ServerConfig } from '../config/index.js';
import { formatListen } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { readTlsFiles } from './tls.js';

// node:https and node:child_process load only when a listener needs them, so the clients that share this
// layer's door (lib/http/client.ts, e.g. `broker token` inside `gatekit exec`) stay as light as node:http.

const TUNING = { keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 0 };

/** Who may use a Unix socket listener: its file mode, and the group (name or number) for 0660. */
export interface SocketAccess {
  readonly mode: number;
  readonly group?: string;
}

/**
 * Binds one server's listener: a Unix socket (0600, or 0660 with [daemon] socket_group; a stale
 * socket from a dead daemon is replaced, a live one is an error) or loopback TCP with mutual TLS
 * (a client certificate from the local CA is required).
 */
export function bindListener(config: Config, server: ServerConfig, handler: RequestListener): Promise<Server> {
  const group = config.daemon.socket_group;
  const access = group ? { mode: 0o660, group } : { mode: 0o600 };
  return bindListen(config, server.listen, handler, { name: server.name, key: `servers.${server.name}`, access });
}

/**
 * Binds `at`: a Unix socket with `access` (its directory is created 0700, or 0755 when others may connect),
 * or loopback TCP with mutual TLS from `[daemon] tls` (RFC 8705 §2: a client without a certificate from the
 * local CA fails the handshake), or plain HTTP with `plain` (the metrics listener). `name` and `key` name the
 * listener in errors.
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2
 */
export async function bindListen(
  config: Config,
  at: Listen,
  handler: RequestListener,
  { name, key, access, plain }: { name: string; key: string; access: SocketAccess; plain?: boolean },
): Promise<Server> {
  if (at.kind === 'tcp' && plain) {
    // The metrics listener only: counts, no person and no token, so no TLS (a Prometheus agent scrapes it).
    const http = createHttpServer(TUNING, handler);
    await listen(http, formatListen(at), () => http.listen(at.port, at.host));
    return http;
  }
  if (at.kind === 'tcp') return bindMtls(config, at, handler, key);
  const gid = access.group === undefined ? undefined : groupId(config, access.group);
  return bindUnix(at.path, handler, { mode: access.mode, gid }, name);
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
  const files = readTlsFiles(tls, config.file, 'daemon.tls');
  const https = process
    .getBuiltinModule('node:https')
    .createServer({ ...files, ...TUNING, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, handler);
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
    return Number(
      process
        .getBuiltinModule('node:child_process')
        .execFileSync('getent', ['group', group], { encoding: 'utf8' })
        .split(':')[2],
    );
  } catch {
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: daemon.socket_group "${group}" is not a group on this machine`,
    );
  }
}
