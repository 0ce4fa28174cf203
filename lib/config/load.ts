import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';

// smol-toml's single-file CommonJS build loads in a third of the time of its ESM module graph,
// and every `gatekit broker token` parses the config first.
const { parse, TomlError } = createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');
import { GatekitError } from '../errors.js';
import { checkDaemon, checkMetricsApart } from './daemon.js';
import { checkBroker, checkIdp, checkWorkload } from './idp.js';
import { isTable, Section } from './section.js';
import { checkPlainHttp } from './plain-http.js';
import { checkServer, checkUnique } from './server.js';
import { checkConfigTrust } from './trust.js';
import type { Config, DevConfig, ServerConfig } from './types.js';

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
  const devSection = root.optTable('dev');
  const dev: DevConfig = { enabled: devSection !== undefined, idp: devSection?.bool('idp', false) ?? false };
  devSection?.done();

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
  checkMetricsApart(file, daemon, servers);
  checkPlainHttp(file, dev.enabled, { idp, broker, daemon, workloads });
  if (broker.signing_key) checkPrivateFile(file, 'broker.signing_key', broker.signing_key);
  checkPrivateFile(file, 'daemon.audit_key', daemon.audit_key);
  if (daemon.tls) checkPrivateFile(file, 'daemon.tls.key', daemon.tls.key);
  return deepFreeze({ file, dir, idp, broker, daemon, servers, dev, workloads }) as Config;
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
