import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch, request, type Dispatcher } from 'undici';
import { sseEvents } from '../../lib/bridge/index.js';
import { loadConfig, type Config } from '../../lib/config/index.js';
import { startDaemon, type Daemon } from '../../lib/daemon/index.js';
import { initialize } from '../../lib/setup/index.js';
import { loadSigningKey, mintAccessToken, type SigningKey } from '../../lib/token/index.js';
import { workspace, type Workspace } from './workspace.js';

export const NOTES_SERVER = fileURLToPath(new URL('../../fixtures/servers/notes.js', import.meta.url));
export const EVERYTHING_SERVER = fileURLToPath(
  new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);
export const BROKER_ISSUER = 'urn:gatekit:broker:test';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A config with the notes fixture on a Unix socket and over mTLS, and server-everything. */
export async function daemonConfig(extra = '', limits = ''): Promise<string> {
  const port = await freePort();
  return `[idp]
issuer = "http://127.0.0.1:9"
client_id = "gatekit-cli"

[broker]
issuer = "${BROKER_ISSUER}"

[daemon]
audit_log = "audit.jsonl"
tls = { ca = "certs/ca.pem", cert = "certs/daemon.pem", key = "certs/daemon.key" }

[daemon.limits]
max_sessions_per_user = 4
max_children = 6
first_response_timeout = "3s"
${limits}

[servers.notes]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com"]
allow_groups = ["ops"]
tools = { allow = ["list_notes", "read_note", "echo", "whoami", "env", "slow", "ask", "crash", "hang"] }

[[servers.notes.grant]]
groups = ["ops"]
tools = { allow = ["write_note"] }

[servers.tls]
command = ["${process.execPath}", "${NOTES_SERVER}"]
listen = "127.0.0.1:${port}"
allow_users = ["alice@example.com"]

[servers.everything]
command = ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
allow_users = ["alice@example.com"]
${extra}`;
}

export interface Harness {
  readonly ws: Workspace;
  readonly config: Config;
  readonly daemon: Daemon;
  readonly key: SigningKey;
  readonly unix: (server: string) => Dispatcher;
  readonly mtls: Dispatcher;
  token(
    server: string,
    overrides?: {
      user?: string;
      sub?: string;
      groups?: string[];
      scope?: string;
      ttl?: number;
      /** Bind the token to a DPoP key (RFC 9449 `cnf.jkt`) or a client certificate (RFC 8705 `cnf.x5t#S256`). */
      jkt?: string;
      certThumbprint?: string;
    },
  ): Promise<string>;
  audit(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A daemon in this process (so tests can count its children) over a fresh workspace. */
export async function startHarness(toml?: string): Promise<Harness> {
  const ws = workspace(toml ?? (await daemonConfig()));
  const config = loadConfig({ config: ws.config });
  await initialize(config, { force: false });
  const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
  const daemon = await startDaemon(config);
  const agents: Dispatcher[] = [];
  const unix = (server: string) => {
    const listen = config.servers.get(server)!.listen;
    const agent = new Agent({ connect: { socketPath: listen.kind === 'unix' ? listen.path : '' } });
    agents.push(agent);
    return agent;
  };
  const tls = config.daemon.client_tls!;
  const mtls = new Agent({
    connect: { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
  });
  agents.push(mtls);
  return {
    ws,
    config,
    daemon,
    key,
    unix,
    mtls,
    token: async (server, o = {}) =>
      (
        await mintAccessToken(key, {
          identity: {
            user: o.user ?? 'alice@example.com',
            sub: o.sub ?? `sub-${o.user ?? 'alice@example.com'}`,
            groups: o.groups ?? [],
          },
          issuer: BROKER_ISSUER,
          resource: config.servers.get(server)!.resource,
          scope: o.scope ?? 'tools:*',
          clientId: 'gatekit-cli',
          userClaim: 'email',
          ttl: o.ttl ?? 300,
          ...(o.jkt === undefined ? {} : { jkt: o.jkt }),
          ...(o.certThumbprint === undefined ? {} : { certThumbprint: o.certThumbprint }),
        })
      ).token,
    audit: () =>
      readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    close: async () => {
      await daemon.stop();
      await Promise.all(agents.map((a) => a.close()));
      ws.remove();
    },
  };
}

export function baseUrl(h: Harness, server: string): string {
  const listen = h.config.servers.get(server)!.listen;
  return listen.kind === 'unix' ? 'http://localhost/mcp' : `https://127.0.0.1:${listen.port}/mcp`;
}

/** The MCP SDK's own client over the daemon, with a Bearer token and a sampling handler. */
export async function sdkClient(h: Harness, server: string, token: string, dispatcher?: Dispatcher): Promise<Client> {
  const via = dispatcher ?? (h.config.servers.get(server)!.listen.kind === 'unix' ? h.unix(server) : h.mtls);
  const transport = new StreamableHTTPClientTransport(new URL(baseUrl(h, server)), {
    fetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: via } as never)) as typeof fetch,
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client(
    { name: 'gatekit-test', version: '1.0.0' },
    { capabilities: { sampling: {}, roots: { listChanged: true } } },
  );
  const { CreateMessageRequestSchema, ListRootsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'forty-two' },
    model: 'test-model',
  }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///tmp', name: 'tmp' }] }));
  await client.connect(transport);
  return client;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A hand-made HTTP request to a Unix-socket server: what a hostile client can send. */
export async function raw(
  dispatcher: Dispatcher,
  method: 'GET' | 'POST' | 'DELETE' | 'PUT',
  headers: Record<string, string>,
  body?: string,
  path = '/mcp',
): Promise<RawResponse> {
  const res = await request(`http://localhost${path}`, {
    method,
    headers: { host: 'localhost', ...headers },
    body,
    dispatcher,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The first JSON-RPC answer in a POST's body, JSON or SSE (read by the bridge's sseEvents); `any` as JSON.parse. */
export async function firstRpcMessage(body: string): Promise<any> {
  if (body.trimStart().startsWith('{')) return JSON.parse(body);
  // A child may notify (progress, logging, task status) before it answers on the same stream: skip to the answer.
  for await (const event of sseEvents(Readable.from([body]))) {
    const message = JSON.parse(event.data);
    if ('result' in message || 'error' in message) return message;
  }
  throw new Error(`no JSON-RPC answer in: ${body.slice(0, 200)}`);
}

export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** What a well-behaved client does when done: DELETE the session, then close. */
export async function endSession(client: Client): Promise<void> {
  await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession();
  await client.close();
}
