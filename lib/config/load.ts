import { readFileSync, statSync } from 'node:fs';
import { hostname, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';

// smol-toml's single-file CommonJS build loads in a third of the time of its ESM module graph,
// and every `gatekit broker token` parses the config first.
const { parse, TomlError } = createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');
import { GatekitError } from '../errors.js';
import { isLoopbackHost, parseListen } from './listen.js';
import { checkRules } from './rules.js';
import { isTable, Section } from './section.js';
import { checkConfigTrust } from './trust.js';
import type {
  BrokerConfig,
  Config,
  DaemonConfig,
  DevConfig,
  Grant,
  IdpConfig,
  ServerConfig,
  TlsFiles,
  ToolRules,
  WorkloadTrust,
} from './types.js';

/** Hard cap on token lifetime, whatever token_ttl says (docs/security.md; the daemon refuses exp − iat > 1 h). */
export const MAX_TOKEN_TTL = 3600;

export interface ConfigLookup {
  readonly config?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Finds the config file: --config, else $GATEKIT_CONFIG, else ./gatekit.toml, else
 * $XDG_CONFIG_HOME/gatekit/gatekit.toml. Returns the first candidate that exists (an explicit one
 * is returned even when missing, so the error names it).
 */
export function findConfigFile(lookup: ConfigLookup = {}): string {
  const env = lookup.env ?? process.env;
  const cwd = lookup.cwd ?? process.cwd();
  if (lookup.config) return resolve(cwd, lookup.config);
  if (env['GATEKIT_CONFIG']) return resolve(cwd, env['GATEKIT_CONFIG']);
  const local = resolve(cwd, 'gatekit.toml');
  const xdg = resolve(env['XDG_CONFIG_HOME'] || resolve(homedir(), '.config'), 'gatekit', 'gatekit.toml');
  for (const candidate of [local, xdg]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* next */
    }
  }
  throw new GatekitError('CONFIG_INVALID', `no config file: looked for ${local} and ${xdg}`, {
    hint: 'pass --config PATH, set GATEKIT_CONFIG, or copy the example gatekit.toml',
  });
}

/** Reads, parses and checks a config file; every problem names the file and the key. */
export function loadConfig(lookup: ConfigLookup = {}): Config {
  const file = findConfigFile(lookup);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GatekitError(
      'CONFIG_INVALID',
      `cannot read config ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      { hint: 'check the path given by --config or GATEKIT_CONFIG', cause },
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    const where = cause instanceof TomlError ? ` (line ${cause.line}, column ${cause.column})` : '';
    const first = String((cause as Error).message).split('\n')[0];
    throw new GatekitError('CONFIG_INVALID', `${file}: not valid TOML${where}: ${first}`, {
      hint: 'fix the TOML syntax',
      cause,
    });
  }
  return checkConfigTrust(checkConfig(file, doc as Record<string, unknown>));
}

export function checkConfig(file: string, doc: Record<string, unknown>): Config {
  const dir = dirname(file);
  const path = (p: string): string => resolve(dir, p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : p);
  const root = new Section(file, '', doc);

  const idpSection = root.optTable('idp');
  const idp = idpSection ? checkIdp(idpSection) : undefined;
  const broker = checkBroker(root.table('broker'), path);
  const daemon = checkDaemon(root.table('daemon'), path, broker.signing_key ?? path('keys/broker.jwk'));
  const devSection = root.table('dev');
  const dev: DevConfig = { idp: devSection.bool('idp', false) };
  devSection.done();

  const trust = root.table('trust');
  const workloads = trust.tables('workload').map(checkWorkload);
  trust.done();

  const serversSection = root.table('servers');
  const servers = new Map<string, ServerConfig>();
  for (const name of serversSection.names()) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) {
      serversSection.fail(name, 'named with letters, digits, "-" or "_"', 'rename the [servers.*] table');
    }
    servers.set(name, checkServer(name, serversSection.table(name), path, dir));
  }
  root.done();
  checkUnique(file, servers);
  if (broker.signing_key) checkPrivateFile(file, 'broker.signing_key', broker.signing_key);
  checkPrivateFile(file, 'daemon.audit_key', daemon.audit_key);
  if (daemon.tls) checkPrivateFile(file, 'daemon.tls.key', daemon.tls.key);
  return deepFreeze({ file, dir, idp, broker, daemon, servers, dev, workloads }) as Config;
}

function checkWorkload(s: Section): WorkloadTrust {
  const workload: WorkloadTrust = {
    issuer: s
      .string('issuer', undefined, isIssuerUrl, 'an https URL (http only on 127.0.0.1/localhost)')
      .replace(/\/+$/, ''),
    audience: s.string('audience'),
    claims: s.stringMap('claims'),
    user: s.string('user', 'repo:{repository}@{ref}'),
    groups: s.strings('groups'),
  };
  if (Object.keys(workload.claims).length === 0)
    s.fail(
      'claims',
      'at least one condition, e.g. { repository = "my-org/my-repo" }',
      'without conditions any job of that CI provider would be trusted',
    );
  s.done();
  return workload;
}

function checkIdp(s: Section): IdpConfig {
  const kind = s.oneOf('kind', ['oidc', 'github'] as const, 'oidc');
  const github = kind === 'github';
  const issuer = s.string(
    'issuer',
    github ? 'https://github.com' : undefined,
    isIssuerUrl,
    'an https URL (http only on 127.0.0.1/localhost)',
  );
  const idp: IdpConfig = {
    kind,
    issuer: issuer.replace(/\/+$/, ''),
    client_id: s.string('client_id'),
    client_secret: s.optString('client_secret'),
    scopes: s.strings('scopes', github ? ['read:org', 'user:email'] : ['openid', 'email', 'profile', 'offline_access']),
    user_claim: s.string('user_claim', github ? 'login' : 'email'),
    groups_claim: s.string('groups_claim', 'groups'),
    redirect_uri: s.optString('redirect_uri', isLoopbackRedirect, 'an http://127.0.0.1:PORT/PATH URL'),
    api_url: s.optString('api_url', isIssuerUrl, 'an https URL'),
  };
  if (!github && !idp.scopes.includes('openid')) s.fail('scopes', 'a list that includes "openid"');
  s.done();
  return idp;
}

function checkBroker(s: Section, path: (p: string) => string): BrokerConfig {
  const mode = s.oneOf('mode', ['local', 'daemon'] as const, 'local');
  const signingKey = s.optString('signing_key');
  const broker: BrokerConfig = {
    mode,
    issuer: s.string('issuer', `urn:gatekit:broker:${hostname()}`),
    signing_key: signingKey === undefined ? (mode === 'local' ? path('keys/broker.jwk') : undefined) : path(signingKey),
    token_ttl: s.duration('token_ttl', 300, MAX_TOKEN_TTL),
  };
  s.done();
  return broker;
}

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

function checkDaemon(s: Section, path: (p: string) => string, brokerKey: string): DaemonConfig {
  const trusted = s.string('trusted_keys', 'keys/broker.jwks');
  const audit = s.string('audit_log', 'audit.jsonl');
  const tokenListen = s.optString('token_listen');
  const limits = s.table('limits');
  const notBefore = new Map<string, number>();
  const nb = s.optTable('not_before');
  for (const user of nb?.names() ?? []) {
    const v = nb!.raw(user);
    const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isNaN(t)) nb!.fail(user, 'an RFC 3339 date-time like 2026-01-31T12:00:00Z');
    notBefore.set(user, Math.floor(t / 1000));
  }
  const daemon: DaemonConfig = {
    trusted_keys: /^https?:\/\//i.test(trusted) ? checkKeysUrl(s, trusted) : path(trusted),
    audit_log: audit === '-' ? '-' : path(audit),
    audit_key: path(s.string('audit_key', join(dirname(brokerKey), 'audit.jwk'))),
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
    token_listen: tokenListen === undefined ? undefined : checkListen(s, 'token_listen', tokenListen, path),
    accept_access_tokens: s.oneOf('accept_access_tokens', ['off', 'jwt', 'introspection'] as const, 'off'),
    id_token_max_age: s.duration('id_token_max_age', 600, 86_400),
    limits: {
      max_body_bytes: limits.int('max_body_bytes', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      max_sessions_per_user: limits.int('max_sessions_per_user', 16, 1, 10_000),
      max_children: limits.int('max_children', 64, 1, 10_000),
      idle_timeout: limits.duration('idle_timeout', 1800),
      first_response_timeout: limits.duration('first_response_timeout', 30),
      start_timeout: limits.duration('start_timeout', 120),
      drain_timeout: limits.duration('drain_timeout', 10),
      max_failed_exchanges: limits.int('max_failed_exchanges', 30, 1, 1_000_000),
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

function checkListen(s: Section, key: string, value: string, path: (p: string) => string) {
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

function checkTools(s: Section | undefined): ToolRules {
  if (!s) return { allow: ['*'], deny: [] };
  const rules = { allow: s.strings('allow', ['*']), deny: s.strings('deny') };
  s.done();
  return rules;
}

function checkServer(name: string, s: Section, path: (p: string) => string, dir: string): ServerConfig {
  const command = s.strings('command');
  if (command.length === 0)
    s.fail('command', 'a non-empty array like ["npx", "-y", "@modelcontextprotocol/server-everything"]');
  const grants: Grant[] = s.tables('grant').map((g) => {
    const grant = { users: g.strings('users'), groups: g.strings('groups'), tools: checkTools(g.optTable('tools')) };
    if (grant.users.length === 0 && grant.groups.length === 0)
      g.fail('users', 'set (or "groups" set) so the grant names who it is for');
    g.done();
    return grant;
  });
  const env = s.stringMap('env');
  for (const key of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      s.fail('env', `a table of environment variables; "${key}" is not a valid name`);
  }
  const server: ServerConfig = {
    name,
    command,
    cwd: path(s.string('cwd', dir)),
    listen: checkListen(s, 'listen', s.string('listen', `unix:run/${name}.sock`), path),
    resource: s.string('resource', `urn:gatekit:server:${name}`, isResourceUri, 'an absolute URI without a fragment'),
    allow_users: s.strings('allow_users'),
    allow_groups: s.strings('allow_groups'),
    tools: checkTools(s.optTable('tools')),
    grants,
    env,
    identity_meta: s.bool('identity_meta', false),
    audit_arguments: s.bool('audit_arguments', false),
    rules: checkRules(s),
    token_binding: s.oneOf('token_binding', ['any', 'dpop', 'mtls'] as const, 'any'),
  };
  if (server.token_binding === 'mtls' && server.listen.kind !== 'tcp') {
    s.fail('token_binding', '"any" or "dpop" for a Unix-socket listener ("mtls" needs a loopback TCP listen address)');
  }
  s.done();
  return server;
}

function checkUnique(file: string, servers: Map<string, ServerConfig>): void {
  const seen = new Map<string, string>();
  for (const s of servers.values()) {
    for (const [what, key] of [
      ['listen', listenKey(s)],
      ['resource', s.resource],
    ] as const) {
      const other = seen.get(`${what} ${key}`);
      if (other && !(what === 'listen' && key.endsWith(':0'))) {
        throw new GatekitError(
          'CONFIG_INVALID',
          `${file}: "servers.${s.name}.${what}" is the same as "servers.${other}.${what}"`,
          { hint: `give each server its own ${what}` },
        );
      }
      seen.set(`${what} ${key}`, s.name);
    }
  }
}

function listenKey(s: ServerConfig): string {
  return s.listen.kind === 'unix' ? `unix:${s.listen.path}` : `${s.listen.host}:${s.listen.port}`;
}

/** A private key readable by group or others is refused: whoever reads it can mint or impersonate. */
function checkPrivateFile(file: string, key: string, target: string): void {
  let mode: number;
  try {
    mode = statSync(target).mode;
  } catch {
    return;
  }
  if ((mode & 0o077) !== 0) {
    throw new GatekitError(
      'CONFIG_INVALID',
      `${file}: "${key}" file ${target} is readable by others (mode ${(mode & 0o777).toString(8)})`,
      { hint: `run: chmod 600 ${target}` },
    );
  }
}

function isIssuerUrl(v: string): boolean {
  try {
    const u = new URL(v);
    if (u.search || u.hash) return false;
    return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname));
  } catch {
    return false;
  }
}

function isLoopbackRedirect(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]');
  } catch {
    return false;
  }
}

function isResourceUri(v: string): boolean {
  try {
    return Boolean(new URL(v).protocol) && !v.includes('#');
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return Object.freeze(value);
  }
  if (isTable(value) || Array.isArray(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    return Object.freeze(value);
  }
  return value;
}
