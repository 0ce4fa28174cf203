import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Config, Listen, ServerConfig } from '../config/index.js';
import { formatListen } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { readTlsFiles } from './tls.js';

// node:https and node:child_process load only when a listener needs them, so the clients that share this
// layer's door (lib/http/client.ts, e.g. `broker token` inside `gatekit exec`) stay as light as node:http.

/**
 * Every listener's bounds (docs/security.md, "no peer can exhaust the daemon"), from `[daemon.limits]`: a request's
 * headers and body must arrive within `request_timeout` (a trickled body gets 408 and the connection closes; Node
 * counts only the time to receive the request, so a long answer or an SSE stream is not cut), headers within 30 s
 * at most, a connection that sends nothing is closed after as long, an idle kept-alive one after
 * `keepalive_timeout`, and at most `maxConnections` at once (past it a new connection is closed at once).
 */
function tuning(config: Config) {
  const limits = config.daemon.limits;
  const requestTimeout = limits.request_timeout * 1000;
  const headersTimeout = Math.min(30_000, requestTimeout);
  return {
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: limits.keepalive_timeout * 1000,
    // How often Node checks those two: often enough that a short test timeout is kept to within a quarter of it.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}

/** Caps connections and closes one that says nothing before its first request (Node's timeouts start with it). */
function bound(server: Server, maxConnections: number, silentMs: number, isTls: boolean): Server {
  server.maxConnections = maxConnections;
  // Over TLS the request's socket is the TLS one (a silent handshake is bounded by handshakeTimeout).
  server.on(isTls ? 'secureConnection' : 'connection', (socket: Socket) => {
    socket.setTimeout(silentMs, () => socket.destroy());
  });
  // From the first request on, Node's own timeouts apply (and a quiet SSE stream is not "silent").
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0));
  return server;
}

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
  const { max_connections: maxConnections } = config.daemon.limits;
  return bindListen(config, server.listen, handler, {
    name: server.name,
    key: `servers.${server.name}`,
    access,
    maxConnections,
  });
}

/**
 * Binds `at`: a Unix socket with `access` (its directory is created 0700, or 0755 when others may connect),
 * or loopback TCP with mutual TLS from `[daemon] tls` (RFC 8705 §2: a client without a certificate from the
 * local CA fails the handshake), or plain HTTP with `plain` (the metrics listener). `name` and `key` name the
 * listener in errors. Every listener has the request, header and idle timeouts of `[daemon.limits]` and at most
 * `maxConnections` connections at once (default: `[daemon.limits] max_connections`).
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2
 */
export async function bindListen(
  config: Config,
  at: Listen,
  handler: RequestListener,
  {
    name,
    key,
    access,
    plain,
    maxConnections = config.daemon.limits.max_connections,
  }: { name: string; key: string; access: SocketAccess; plain?: boolean; maxConnections?: number },
): Promise<Server> {
  const options = tuning(config);
  let server: Server;
  if (at.kind === 'tcp' && plain) {
    // The metrics listener only: counts, no person and no token, so no TLS (a Prometheus agent scrapes it).
    const http = createHttpServer(options, handler);
    await listen(http, formatListen(at), () => http.listen(at.port, at.host));
    server = http;
  } else if (at.kind === 'tcp') {
    server = await bindMtls(config, at, handler, key, options);
  } else {
    const gid = access.group === undefined ? undefined : groupId(config, access.group);
    server = await bindUnix(at.path, handler, { mode: access.mode, gid }, name, options);
  }
  return bound(server, maxConnections, options.headersTimeout, at.kind === 'tcp' && !plain);
}

/** Loopback TCP with mutual TLS: only clients with a certificate from the local CA get in. */
async function bindMtls(
  config: Config,
  address: Extract<Listen, { kind: 'tcp' }>,
  handler: RequestListener,
  key: string,
  options: ReturnType<typeof tuning>,
): Promise<Server> {
  const tls = config.daemon.tls;
  if (!tls)
    throw new GatekitError('CONFIG_INVALID', `${config.file}: ${key} listens on TCP, which needs [daemon] tls`, {
      hint: 'add tls = { ca, cert, key } and run "gatekit init"',
    });
  const files = readTlsFiles(tls, config.file, 'daemon.tls');
  const https = process.getBuiltinModule('node:https').createServer(
    {
      ...files,
      ...options,
      handshakeTimeout: options.headersTimeout,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    handler,
  );
  await listen(https, formatListen(address), () => https.listen(address.port, address.host));
  return https;
}

/** A Unix socket with the given mode (and group); a stale socket file is replaced, a live one is an error. */
async function bindUnix(
  path: string,
  handler: RequestListener,
  access: { mode: number; gid?: number | undefined },
  name: string,
  options: ReturnType<typeof tuning>,
): Promise<Server> {
  // A socket others may use needs a directory they can enter; a private one stays private.
  mkdirSync(dirname(path), { recursive: true, mode: access.mode & 0o066 ? 0o755 : 0o700 });
  await removeStaleSocket(path, name);
  const http = createHttpServer(options, handler);
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
