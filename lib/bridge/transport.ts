import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';

export interface DaemonEndpoint {
  readonly url: string;
  readonly dispatcher: Dispatcher;
}

/** How to reach one server's daemon listener: its Unix socket, or loopback mTLS with our client certificate. */
export function daemonEndpoint(config: Config, server: ServerConfig): DaemonEndpoint {
  if (server.listen.kind === 'unix') {
    return {
      url: 'http://localhost/mcp',
      dispatcher: new Agent({ connect: { socketPath: server.listen.path }, keepAliveTimeout: 30_000 }),
    };
  }
  const tls = config.daemon.client_tls;
  if (!tls)
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: servers.${server.name} listens on TCP (mTLS) but [daemon] client_tls is not set`,
    );
  let files: { ca: Buffer; cert: Buffer; key: Buffer };
  try {
    files = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  } catch (cause) {
    throw new GatekitError(
      'CONFIG_INVALID',
      `cannot read the client certificate for servers.${server.name}: ${(cause as Error).message}`,
      { hint: 'run "gatekit init"', cause },
    );
  }
  const host = server.listen.host.includes(':') ? `[${server.listen.host}]` : server.listen.host;
  return {
    url: `https://${host}:${server.listen.port}/mcp`,
    dispatcher: new Agent({ connect: { ...files }, keepAliveTimeout: 30_000 }),
  };
}

export interface DaemonResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AsyncIterable<Buffer> & { text(): Promise<string>; dump(): Promise<void> };
}

export async function send(
  endpoint: DaemonEndpoint,
  method: 'POST' | 'GET' | 'DELETE',
  headers: Record<string, string>,
  body?: string,
  signal?: AbortSignal,
): Promise<DaemonResponse> {
  try {
    const res = await request(endpoint.url, { method, headers, body, dispatcher: endpoint.dispatcher, signal });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (cause) {
    if ((cause as Error).name === 'AbortError') throw cause;
    throw new GatekitError(
      'DAEMON_UNREACHABLE',
      `cannot reach the gatekit daemon at ${endpoint.url.startsWith('https') ? endpoint.url : 'its Unix socket'}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      {
        hint: 'start it with "gatekit daemon"',
        cause,
      },
    );
  }
}

export function header(res: DaemonResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
