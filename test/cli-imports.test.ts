import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { LoginStore } from '../lib/store/index.js';
import { createKeys, loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

const HEAVY = [
  'yargs',
  'jose',
  'openid-client',
  'oidc-provider',
  'undici',
  '@modelcontextprotocol/sdk',
  '@peculiar/x509',
  'playwright-core',
];
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Every module reached from `entry` by static imports (dynamic `import()` is not followed). */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:'))
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

const dist = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
/** What package.json's `bin` ships: the file `npm install` links as `gatekit`. */
const packageJson = JSON.parse(readFileSync(dist('../package.json'), 'utf8')) as { bin: Record<string, string> };
const SHIPPED_BIN = dist(`../${packageJson.bin['gatekit']!}`);

// Records every file Node loads: ESM through a module.register() load hook, CommonJS from require.cache at exit.
const LOAD_HOOKS = `import { appendFileSync } from 'node:fs';
let trace;
export function initialize(data) { trace = data.trace }
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(trace, url + '\\n');
  return next(url, context);
}
`;
const PRELOAD = (hooks: string, trace: string) => `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { trace: ${JSON.stringify(trace)} } });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  for (const f of Object.keys(cache)) appendFileSync(${JSON.stringify(trace)}, pathToFileURL(f).href + '\\n');
});
`;

interface TracedRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly loaded: string[];
}

/** Runs the shipped `gatekit ARGS…` and lists the files of ours or of node_modules that it loaded. */
async function filesLoadedBy(ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<TracedRun> {
  const hooks = join(ws.dir, 'hooks.mjs');
  const preload = join(ws.dir, 'preload.mjs');
  const trace = join(ws.dir, 'loaded.txt');
  writeFileSync(hooks, LOAD_HOOKS);
  writeFileSync(preload, PRELOAD(hooks, trace));
  writeFileSync(trace, '');
  const { CI: _ci, GATEKIT_AGENT: _agent, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, SHIPPED_BIN, ...args], {
    env: { ...inherited, ...ws.env, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  const ignored = new Set([pathToFileURL(preload).href, pathToFileURL(hooks).href]);
  const loaded = [
    ...new Set(
      readFileSync(trace, 'utf8')
        .split('\n')
        .filter((u) => u && !ignored.has(u)),
    ),
  ];
  return { code, stdout, loaded: loaded.map((u) => fileURLToPath(u)) };
}

/** A workspace whose cache holds a fresh, really signed token for server "notes". */
async function workspaceWithCachedToken(): Promise<{ ws: Workspace; token: string }> {
  const ws = workspace(basicConfig('http://127.0.0.1:9'));
  const config = loadConfig({ config: ws.config, env: ws.env });
  const files = { signingKey: join(ws.dir, 'keys', 'broker.jwk'), jwks: join(ws.dir, 'keys', 'broker.jwks') };
  await createKeys(files, false);
  const resource = config.servers.get('notes')!.resource;
  const { token, claims } = await mintAccessToken(await loadSigningKey(files.signingKey), {
    identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
    issuer: config.broker.issuer,
    resource,
    scope: 'tools:*',
    clientId: 'gatekit-cli',
    userClaim: 'email',
    ttl: 300,
  });
  new LoginStore(config.idp!.issuer, config.idp!.client_id, config.file, ws.env).writeToken({
    access_token: token,
    expires_at: claims.exp,
    issued_at: claims.iat,
    server: 'notes',
    resource,
    issuer: config.broker.issuer,
    scope: claims.scope,
    jti: claims.jti,
  });
  return { ws, token };
}

describe('start-up stays light', () => {
  it('lib/cli/main (what bin/gatekit loads) statically imports no heavy dependency (handlers load theirs lazily)', () => {
    const { packages } = staticGraph(dist('lib/cli/main.js'));
    const heavy = [...packages].filter((p) => HEAVY.includes(p));
    assert.deepEqual(heavy, [], `statically imported: ${heavy.join(', ')}`);
  });

  it('the cached `broker token` path reaches only config, store and formatting code', () => {
    const { files, packages } = staticGraph(dist('lib/cli/fast-path.js'));
    assert.deepEqual([...packages], [], 'smol-toml is required lazily as CommonJS; nothing else');
    const folders = new Set([...files].map((f) => f.split('/dist/lib/')[1]?.split('/')[0]));
    // Not the broker either: the fast path reads the cache with the store's rule (lib/store cachedToken).
    for (const folder of ['oidc', 'token', 'daemon', 'dev', 'policy', 'broker', 'github', 'exec'])
      assert.ok(!folders.has(folder), `fast path loads lib/${folder}`);
  });

  it('in daemon mode the CLI side of the token exchange (lib/broker/exchange) loads no server code', () => {
    const { files, packages } = staticGraph(dist('lib/broker/exchange.js'));
    assert.deepEqual([...packages], [], 'the exchange client needs only node: modules');
    const ours = [...files].map((f) => f.split('/dist/lib/')[1]);
    const server = ours.filter((f) => /^(daemon|policy|audit|token)\//.test(f!));
    assert.deepEqual(server, [], `loads server code: ${server.join(', ')}`);
  });

  it('the shipped bin answers a cached `broker token` from one CommonJS file: itself', async (t) => {
    const { ws, token } = await workspaceWithCachedToken();
    t.after(() => ws.remove());
    assert.match(SHIPPED_BIN, /\.cjs$/, 'a CommonJS entry skips the ESM loader');
    const run = await filesLoadedBy(ws, ['broker', 'token', '--resource', 'notes']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${token}\n`);
    assert.deepEqual(run.loaded, [SHIPPED_BIN]);
  });

  it('the shipped bin loads the full CLI, from the same tsc output the tests use, for anything else', async (t) => {
    const { ws } = await workspaceWithCachedToken();
    t.after(() => ws.remove());
    const run = await filesLoadedBy(ws, ['broker', 'token', '--resource', 'notes', '--format', 'yaml']);
    assert.equal(run.code, 2);
    assert.ok(run.loaded.includes(dist('lib/cli/main.js')), 'lib/cli/main.js was not loaded');
  });

  it('inside `gatekit exec` the shipped bin asks the agent, never the cache: a gone agent is exit 5', async (t) => {
    const { ws, token } = await workspaceWithCachedToken();
    t.after(() => ws.remove());
    const agent = { GATEKIT_AGENT: join(ws.dir, 'gone.sock') };
    const run = await filesLoadedBy(ws, ['broker', 'token', '--resource', 'notes'], agent);
    assert.equal(run.code, 5);
    assert.ok(!run.stdout.includes(token.split('.')[2]!), 'printed the cached token');
  });
});
