import { dirname, join } from 'node:path';
import { GatekitError } from '../errors.js';
import { formatListen, isLoopbackHost, parseListen } from './listen.js';
import type { Section } from './section.js';
import type { DaemonConfig, ServerConfig, TlsFiles } from './types.js';

/** `[daemon.limits] idle_timeout` at most: 24 h. A session idle longer is ended; a bigger value is a config error. */
const IDLE_TIMEOUT_MAX = 86_400;

function checkTls(s: Section | undefined, path: (p: string) => string, defaults: TlsFiles): TlsFiles {
  if (!s) return defaults;
  const tls = {
    ca: path(s.string('ca', defaults.ca)),
    cert: path(s.string('cert', defaults.cert)),
    key: path(s.string('key', defaults.key)),
  };
  s.done();
  return tls;
}

/** `[daemon]`: keys, audit log, TLS files, listeners and limits. */
export function checkDaemon(s: Section, path: (p: string) => string, brokerKey: string): DaemonConfig {
  const trusted = s.string('trusted_keys', 'keys/broker.jwks');
  const audit = s.string('audit_log', 'audit.jsonl');
  const tokenListen = s.optString('token_listen');
  const metricsListen = s.optString('metrics_listen');
  const limits = s.table('limits');
  const notBefore = new Map<string, number>();
  const nb = s.optTable('not_before');
  for (const user of nb?.names() ?? []) {
    const v = nb!.raw(user);
    const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isNaN(t)) nb!.fail(user, 'an RFC 3339 date-time like 2026-01-31T12:00:00Z');
    notBefore.set(user, Math.floor(t / 1000));
  }
  const auditKey = path(s.string('audit_key', join(dirname(brokerKey), 'audit.jwk')));
  const daemon: DaemonConfig = {
    trusted_keys: /^https?:\/\//i.test(trusted) ? checkKeysUrl(s, trusted) : path(trusted),
    audit_log: audit === '-' ? '-' : path(audit),
    audit_key: auditKey,
    // Beside the audit key by default: whoever can change it there could already replace the key.
    audit_anchor: path(s.string('audit_anchor', join(dirname(auditKey), 'audit.anchor'))),
    audit_checkpoint: checkCheckpoint(s.optTable('audit_checkpoint')),
    tls: checkTls(s.optTable('tls'), path, {
      ca: path('certs/ca.pem'),
      cert: path('certs/daemon.pem'),
      key: path('certs/daemon.key'),
    }),
    client_tls: checkTls(s.optTable('client_tls'), path, {
      ca: path('certs/ca.pem'),
      cert: path('certs/client.pem'),
      key: path('certs/client.key'),
    }),
    socket_group: s.optString('socket_group'),
    socket_owner: s.optString(
      'socket_owner',
      (v) => /^(\d+|[A-Za-z_][A-Za-z0-9_.-]{0,31})$/.test(v),
      'a user name or uid (the account a shared daemon runs as)',
    ),
    token_listen: tokenListen === undefined ? undefined : checkLoopbackListen(s, 'token_listen', tokenListen, path),
    metrics_listen:
      metricsListen === undefined ? undefined : checkLoopbackListen(s, 'metrics_listen', metricsListen, path),
    cgroup: s.oneOf('cgroup', ['auto', 'off'] as const, 'auto'),
    accept_access_tokens: s.oneOf('accept_access_tokens', ['off', 'jwt', 'introspection'] as const, 'off'),
    id_token_max_age: s.duration('id_token_max_age', 600, 86_400),
    limits: {
      max_body_bytes: limits.int('max_body_bytes', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      max_sessions_per_user: limits.int('max_sessions_per_user', 16, 1, 10_000),
      max_children: limits.int('max_children', 64, 1, 10_000),
      idle_timeout: limits.duration('idle_timeout', 1800, IDLE_TIMEOUT_MAX),
      first_response_timeout: limits.duration('first_response_timeout', 30),
      start_timeout: limits.duration('start_timeout', 120),
      drain_timeout: limits.duration('drain_timeout', 10),
      max_failed_exchanges: limits.int('max_failed_exchanges', 30, 1, 1_000_000),
      request_timeout: limits.duration('request_timeout', 30, 600),
      keepalive_timeout: limits.duration('keepalive_timeout', 65, 600),
      max_connections: limits.int('max_connections', 512, 1, 100_000),
      token_max_connections: limits.int('token_max_connections', 64, 1, 100_000),
    },
    not_before: notBefore,
  };
  limits.done();
  nb?.done();
  s.done();
  return daemon;
}

/** `[daemon] audit_checkpoint = { lines = 1000, interval = "60s" }`: both optional. */
function checkCheckpoint(s: Section | undefined): DaemonConfig['audit_checkpoint'] {
  const checkpoint = {
    lines: s?.int('lines', 1000, 1, 10_000_000) ?? 1000,
    interval: s?.duration('interval', 60, 86_400) ?? 60,
  };
  s?.done();
  return checkpoint;
}

/** Trusted keys travel over https, or plain http only to a loopback host where nobody sits in between. */
function checkKeysUrl(s: Section, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)))) {
    s.fail(
      'trusted_keys',
      'a JWKS file, an https:// URL, or an http:// URL on a loopback host (127.0.0.1, [::1], localhost)',
      'plain http elsewhere lets anyone on the path swap the keys; use https',
    );
  }
  return value;
}

export function checkLoopbackListen(s: Section, key: string, value: string, path: (p: string) => string) {
  const listen = parseListen(value);
  if (!listen) s.fail(key, '"unix:PATH" or a loopback "127.0.0.1:PORT" / "[::1]:PORT"');
  if (listen.kind === 'tcp' && !isLoopbackHost(listen.host)) {
    s.fail(
      key,
      'a loopback address (127.0.0.1, [::1] or localhost)',
      'Gatekit listens on loopback only; use a Unix socket or 127.0.0.1:PORT',
    );
  }
  return listen.kind === 'unix' ? { kind: 'unix' as const, path: path(listen.path) } : listen;
}

/** `metrics_listen` is a listener of its own: never a server's address or the token endpoint's (port 0 aside). */
export function checkMetricsApart(
  file: string,
  daemon: DaemonConfig,
  servers: ReadonlyMap<string, ServerConfig>,
): void {
  const at = daemon.metrics_listen;
  if (!at || (at.kind === 'tcp' && at.port === 0)) return;
  const same = (l: DaemonConfig['token_listen']) => l !== undefined && formatListen(l) === formatListen(at);
  const taken = same(daemon.token_listen)
    ? 'daemon.token_listen'
    : [...servers.values()].filter((s) => same(s.listen)).map((s) => `servers.${s.name}.listen`)[0];
  if (taken === undefined) return;
  throw new GatekitError('CONFIG_INVALID', `${file}: "daemon.metrics_listen" is the same as "${taken}"`, {
    hint: 'serve /metrics on its own Unix socket or port, never on an MCP listener',
  });
}
