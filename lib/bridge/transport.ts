import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { checkSocketOwner, clientTarget, targetUrl } from '../http/index.js';

export interface DaemonEndpoint {
  readonly url: string;
  readonly dispatcher: Dispatcher;
}

/** How to reach one server's daemon listener: its Unix socket, or loopback mTLS with our client certificate. */
export function daemonEndpoint(config: Config, server: ServerConfig): DaemonEndpoint {
  const target = clientTarget(config, server.listen, `servers.${server.name}`);
  if (target.kind === 'tcp') {
    return {
      url: targetUrl(target, '/mcp'),
      dispatcher: new Agent({ connect: { ...target.tls }, keepAliveTimeout: 30_000 }),
    };
  }
  // Every new connection (a reconnect after the daemon restarted too) checks who owns the socket first.
  const base = buildConnector({ socketPath: target.path });
  const connect: buildConnector.connector = (options, callback) => {
    try {
      checkSocketOwner(target.path, target.owners ?? [], `the gatekit daemon's socket for ${server.name}`);
    } catch (err) {
      callback(err as Error, null);
      return;
    }
    base(options, callback);
  };
  return { url: targetUrl(target, '/mcp'), dispatcher: new Agent({ connect, keepAliveTimeout: 30_000 }) };
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
    if ((cause as Error).name === 'AbortError' || cause instanceof GatekitError) throw cause;
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
