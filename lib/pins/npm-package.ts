import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { npxPackageOf } from './fetching.js';
import type { PackagePin, ServerPins } from './lock.js';

/** Where npm keeps what it resolved for an npx server: the package's version and integrity, and the lockfile read. */
export interface ResolvedPackage extends PackagePin {
  readonly from: string;
}

const readJson = (file: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** The installed `name` under `root` and its integrity from `lockfiles` (npm's own), if its version fits. */
function installedAt(root: string, name: string, version: string | undefined, lockfiles: string[]) {
  const manifest = readJson(join(root, 'node_modules', name, 'package.json'));
  if (typeof manifest?.['version'] !== 'string') return undefined;
  if (version !== undefined && manifest['version'] !== version.replace(/^v/, '')) return undefined;
  for (const file of lockfiles) {
    const entry = (readJson(file)?.['packages'] as Record<string, { integrity?: unknown }> | undefined)?.[
      `node_modules/${name}`
    ];
    if (typeof entry?.integrity === 'string')
      return { name, version: manifest['version'], integrity: entry.integrity, from: file };
  }
  return undefined;
}

/**
 * What `npx` runs for `server`, from npm's own metadata, without asking the registry: the local project's
 * node_modules (the nearest directory up from the server's cwd with a package.json or node_modules, as npm finds its
 * prefix) and its package-lock.json; else the npx cache, `$npm_config_cache/_npx/<hash>` (default `~/.npm`), whose
 * hash npm takes over the package spec as written. Undefined when neither has it, or the command is no npx.
 */
export function resolveNpxPackage(
  server: ServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedPackage | undefined {
  const pkg = npxPackageOf(server);
  if (!pkg) return undefined;
  let dir = server.cwd;
  while (!existsSync(join(dir, 'package.json')) && !existsSync(join(dir, 'node_modules')) && dirname(dir) !== dir)
    dir = dirname(dir);
  const local = installedAt(dir, pkg.name, pkg.version, [
    join(dir, 'package-lock.json'),
    join(dir, 'node_modules', '.package-lock.json'),
  ]);
  if (local) return local;
  const cache = env['npm_config_cache'] || join(env['HOME'] || homedir(), '.npm');
  const hash = createHash('sha512').update(pkg.spec).digest('hex').slice(0, 16);
  const npx = join(cache, '_npx', hash);
  return installedAt(npx, pkg.name, pkg.version, [
    join(npx, 'package-lock.json'),
    join(npx, 'node_modules', '.package-lock.json'),
  ]);
}

/**
 * Why `server`'s npx package may not start under `pins`, or undefined: it resolves to the pinned name, version and
 * integrity, or nothing is pinned for it.
 */
export function packageMismatch(
  server: ServerConfig,
  pins: ServerPins | undefined,
  env?: NodeJS.ProcessEnv,
): string | undefined {
  const pinned = pins?.package;
  if (!pinned) return undefined;
  const found = resolveNpxPackage(server, env);
  if (!found) return `the pinned package ${pinned.name}@${pinned.version} is not installed where npx would find it`;
  if (found.name !== pinned.name || found.version !== pinned.version || found.integrity !== pinned.integrity)
    return (
      `the package resolves to ${found.name}@${found.version} (${found.integrity.slice(0, 20)}…, ${found.from}), ` +
      `not the pinned ${pinned.name}@${pinned.version} (${pinned.integrity.slice(0, 20)}…)`
    );
  return undefined;
}

/** The refusal to start a child whose package is not the pinned one. */
export function packageRefusal(server: ServerConfig, why: string): GatekitError {
  return new GatekitError('CHILD_FAILED', `servers.${server.name}.pins: ${why}`, {
    hint: `review the change, then run "gatekit tools pin ${server.name}" to pin what it resolves to now`,
  });
}
