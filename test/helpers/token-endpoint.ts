import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/index.js';
import { startDaemon, type Daemon } from '../../lib/daemon/index.js';
import { initialize } from '../../lib/setup/index.js';
import { workspace, type Workspace } from './workspace.js';

export const TOKEN_TYPE = {
  id: 'urn:ietf:params:oauth:token-type:id_token',
  access: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
export const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface TokenHost {
  readonly ws: Workspace;
  readonly daemon: Daemon;
  readonly socket: string;
  audit(): Array<Record<string, unknown>>;
  auditText(): string;
  /** POST /token over the Unix socket with these form fields; the subject is for server "notes". */
  exchange(subjectToken: string, type: string, more?: Record<string, string>): Promise<ExchangeAnswer>;
  close(): Promise<void>;
}

export interface ExchangeAnswer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

/** A daemon-mode daemon (the signing key only here) over a fresh workspace, with `[daemon]` extras. */
export async function startTokenHost(
  issuer: string,
  daemonExtra = '',
  rest = '',
  options: { tokenListen?: string; notesCommand?: string; idpExtra?: string; auditLog?: string } = {},
): Promise<TokenHost> {
  const ws = workspace('');
  const socket = join(ws.dir, 'run', 'token.sock');
  ws.write(`# The test IdPs serve loopback http: allowed only in a [dev] config (docs/security.md).
[dev]

[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
${options.idpExtra ?? ''}

[broker]
mode = "daemon"
issuer = "urn:gatekit:broker:shared-host"
signing_key = "keys/broker.jwk"

[daemon]
token_listen = "${options.tokenListen ?? `unix:${socket}`}"
audit_log = "${options.auditLog ?? 'audit.jsonl'}"
${daemonExtra}

[servers.notes]
command = ${options.notesCommand ?? '["node", "notes.js"]'}
allow_users = ["alice@example.com"]
${rest}`);
  const config = loadConfig({ config: ws.config });
  await initialize(config, { force: false });
  const daemon = await startDaemon(config);
  const auditText = () => readFileSync(options.auditLog ?? join(ws.dir, 'audit.jsonl'), 'utf8');
  return {
    ws,
    daemon,
    socket,
    auditText,
    audit: () =>
      auditText()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    exchange: (subjectToken, type, more = {}) =>
      postToken(socket, {
        grant_type: GRANT,
        resource: 'urn:gatekit:server:notes',
        subject_token: subjectToken,
        subject_token_type: type,
        ...more,
      }),
    close: async () => {
      await daemon.stop();
      ws.remove();
    },
  };
}

/** A raw RFC 8693 request to the token endpoint; `more` adds fields again (a repeated `resource`). */
export function postToken(
  socketPath: string,
  form: Record<string, string>,
  more: Array<[string, string]> = [],
): Promise<ExchangeAnswer> {
  const body = new URLSearchParams([...Object.entries(form), ...more]).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path: '/token', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            text += d;
          })
          .on('end', () => {
            resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text), text });
          });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A person's config in daemon mode: their [idp], no signing key, and the daemon's token endpoint.
 * `notesExtra` goes into `[servers.notes]` (e.g. its `listen` and `token_binding`).
 */
export function personConfig(issuer: string, tokenSocket: string, notesExtra = ''): string {
  return `# The test IdPs serve loopback http: allowed only in a [dev] config (docs/security.md).
[dev]

[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "offline_access"]

[broker]
mode = "daemon"
issuer = "urn:gatekit:broker:shared-host"

[daemon]
token_listen = "unix:${tokenSocket}"

[servers.notes]
command = ["node", "notes.js"]
allow_users = ["alice@example.com"]
${notesExtra}`;
}
