import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatekitError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { pinnedPart, toolFingerprint, type ToolDefinition } from './fingerprint.js';

/** The lock file's name; it lies beside the config file. */
const LOCK_NAME = 'gatekit.lock';

/** One pinned tool: its fingerprint and the definition it was taken from (for `gatekit tools diff`). */
interface ToolPin {
  readonly fingerprint: string;
  readonly definition: Readonly<Record<string, unknown>>;
}

/** An npx server's package as it resolved when pinned: npm's own version and integrity. */
export interface PackagePin {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

/** What `gatekit tools pin NAME` recorded for one server. */
export interface ServerPins {
  readonly tools: ReadonlyMap<string, ToolPin>;
  readonly package?: PackagePin | undefined;
}

/** The lock: pins per server name; a server without an entry is not pinned. */
export type Lock = ReadonlyMap<string, ServerPins>;

/** Where the lock of the config in `configDir` lies. */
export function lockPath(configDir: string): string {
  return join(configDir, LOCK_NAME);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The lock beside the config, or an empty one when there is no file. Anything malformed is a config error naming
 * the file and the key: the daemon never runs on a lock it half understood.
 */
export function readLock(configDir: string): Lock {
  const file = lockPath(configDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw bad(file, `cannot be read: ${(cause as NodeJS.ErrnoException).code ?? cause}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw bad(file, `is not JSON: ${(cause as Error).message}`);
  }
  if (!isObject(doc) || doc['version'] !== 1 || !isObject(doc['servers']))
    throw bad(file, 'must be an object with "version": 1 and "servers"');
  const lock = new Map<string, ServerPins>();
  for (const [name, entry] of Object.entries(doc['servers'])) {
    const at = `servers.${name}`;
    if (!isObject(entry) || !isObject(entry['tools'])) throw bad(file, `"${at}.tools" must be an object`);
    const tools = new Map<string, ToolPin>();
    for (const [tool, pin] of Object.entries(entry['tools'])) {
      if (!isObject(pin) || typeof pin['fingerprint'] !== 'string' || !/^sha256:[\w-]{43}$/.test(pin['fingerprint']))
        throw bad(file, `"${at}.tools.${tool}.fingerprint" must be "sha256:" and 43 base64url characters`);
      tools.set(tool, {
        fingerprint: pin['fingerprint'],
        definition: isObject(pin['definition']) ? pin['definition'] : {},
      });
    }
    const pkg = entry['package'];
    if (
      pkg !== undefined &&
      !(isObject(pkg) && ['name', 'version', 'integrity'].every((k) => typeof pkg[k] === 'string'))
    )
      throw bad(file, `"${at}.package" must have string "name", "version" and "integrity"`);
    lock.set(name, { tools, package: pkg as PackagePin | undefined });
  }
  return lock;
}

/** Pins for `tools` as listed now (and the package, for an npx server). */
export function pinsOf(tools: readonly ToolDefinition[], pkg?: PackagePin): ServerPins {
  const pinned = new Map<string, ToolPin>();
  for (const tool of tools) pinned.set(tool.name, { fingerprint: toolFingerprint(tool), definition: pinnedPart(tool) });
  return { tools: pinned, package: pkg };
}

/**
 * Writes the lock with `server`'s pins replaced (the other servers' kept), as sorted, indented JSON so that a
 * review in git shows one line per change; through a temporary file and a rename, so a reader never sees half.
 */
export function writeLock(configDir: string, server: string, pins: ServerPins): string {
  const file = lockPath(configDir);
  const servers: Record<string, unknown> = {};
  const lock = new Map(readLock(configDir)).set(server, pins);
  for (const name of [...lock.keys()].sort()) {
    const entry = lock.get(name)!;
    const tools: Record<string, unknown> = {};
    for (const tool of [...entry.tools.keys()].sort()) tools[tool] = sorted(entry.tools.get(tool));
    servers[name] = { ...(entry.package ? { package: sorted(entry.package) } : {}), tools };
  }
  writeFileAtomic(file, `${JSON.stringify({ version: 1, servers }, null, 2)}\n`, 0o644);
  return file;
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sorted(value[key]);
  return out;
}

function bad(file: string, what: string): GatekitError {
  return new GatekitError('CONFIG_INVALID', `${file} ${what}`, {
    hint: 'fix it or write it anew with "gatekit tools pin NAME" (and review the change in git)',
  });
}
