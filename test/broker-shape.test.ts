import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { agentToken, startTokenAgent } from '../lib/exec/index.js';
import { brokerContext, tokenFor } from '../lib/broker/index.js';
import { loadConfig, serverByName } from '../lib/config/index.js';
import { isGatekitError } from '../lib/errors.js';
import { LoginStore, type CachedToken } from '../lib/store/index.js';
import { gatekit, GATEKIT_BIN } from './helpers/cli.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const ISSUER = 'http://127.0.0.1:9';
const TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2ln';
const lib = (folder: string) => fileURLToPath(new URL(`../../lib/${folder}/`, import.meta.url));
/** The shipped bin (package.json `bin`), which bundles the cached-token path (scripts/build.mjs). */
const SHIPPED_BIN = fileURLToPath(new URL('../../dist/bin/gatekit.cjs', import.meta.url));

function cachedToken(): CachedToken {
  const now = Math.floor(Date.now() / 1000);
  return {
    access_token: TOKEN,
    expires_at: now + 3000,
    issued_at: now,
    server: 'notes',
    resource: 'urn:gatekit:server:notes',
    issuer: 'urn:gatekit:broker:test',
    scope: 'tools:*',
    jti: 'j'.repeat(22),
  };
}

describe('the broker asks an identity-provider adapter', () => {
  it('lib/broker never branches on the provider kind nor imports a provider but to choose the adapter', () => {
    for (const name of readdirSync(lib('broker')).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(lib('broker'), name), 'utf8');
      assert.doesNotMatch(source, /\bkind\s*[!=]==|['"]github['"]|['"]oidc['"]/, `lib/broker/${name} asks the kind`);
      if (name === 'context.ts') continue;
      for (const m of source.matchAll(/^import (?!type ).*from '\.\.\/(github|oidc)\/index\.js';$/gm))
        assert.fail(`lib/broker/${name} imports lib/${m[1]} for more than types`);
    }
  });
});

describe('one token source: tokenFor', () => {
  it('under gatekit exec asks the agent, whatever this process holds (here: no login, no cache)', async (t) => {
    const ws = workspace(basicConfig(ISSUER));
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config, env: ws.env });
    const agentCtx = brokerContext(config, ws.env);
    agentCtx.store.writeToken(cachedToken());
    const agent = await startTokenAgent(agentCtx, { say: () => {} });
    t.after(() => agent.close());
    const elsewhere = { ...ws.env, GATEKIT_HOME: join(ws.dir, 'empty-state') };
    const io = { say: () => {} };
    const input = { server: serverByName(config, 'notes'), minTtl: 60, interactive: false };
    const alone = brokerContext(config, elsewhere);
    await assert.rejects(tokenFor(alone, input, io), (err) => isGatekitError(err, 'LOGIN_REQUIRED'));
    const underExec = brokerContext(config, elsewhere, (resource, minTtl, proof) =>
      agentToken(agent.socketPath, resource, minTtl, config.file, proof),
    );
    assert.equal((await tokenFor(underExec, input, io)).access_token, TOKEN);
  });
});

// Counts, in one CLI process, reads of the config file and of token cache files (the preload patches
// fs.readFileSync, for CommonJS and, synced, ESM importers) and reads of GATEKIT_AGENT (process.env behind a Proxy).
const COUNT_READS = `const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const read = fs.readFileSync;
const counts = { config: 0, cache: 0, agent: 0 };
fs.readFileSync = function (file, ...rest) {
  if (String(file) === process.env.COUNT_FILE) counts.config++;
  if (/[.]token[.][^/]*[.]json$/.test(String(file))) counts.cache++;
  return read.call(this, file, ...rest);
};
syncBuiltinESMExports();
process.env = new Proxy(process.env, {
  get(env, name) {
    if (name === 'GATEKIT_AGENT') counts.agent++;
    return Reflect.get(env, name);
  },
});
process.on('exit', () => fs.writeFileSync(process.env.COUNT_OUT, JSON.stringify(counts)));
`;

type Reads = { config: number; cache: number; agent: number };

async function countReads(bin: string, args: string[]): Promise<{ code: number | null; reads: Reads }> {
  const ws = workspace(basicConfig(ISSUER));
  try {
    const preload = join(ws.dir, 'count.cjs');
    const out = join(ws.dir, 'reads.json');
    writeFileSync(preload, COUNT_READS);
    const { CI: _ci, GATEKIT_AGENT: _agent, ...inherited } = process.env;
    const env = { ...inherited, ...ws.env, COUNT_FILE: ws.config, COUNT_OUT: out };
    const child = spawn(process.execPath, ['--require', preload, bin, ...args], { env, stdio: 'ignore' });
    const code = await new Promise<number | null>((done, fail) => {
      child.on('error', fail);
      child.on('close', done);
    });
    return { code, reads: JSON.parse(readFileSync(out, 'utf8')) as Reads };
  } finally {
    ws.remove();
  }
}

describe('one broker token resolves its path once per process', () => {
  for (const [what, bin] of [
    ['the shipped bin (bundled fast path, then the full CLI)', SHIPPED_BIN],
    ['the ESM bin', GATEKIT_BIN],
  ] as const) {
    it(`${what}: a cache miss reads the config once on its way to "login required"`, async () => {
      const run = await countReads(bin, ['broker', 'token', '--resource', 'notes']);
      assert.equal(run.code, 3);
      assert.equal(run.reads.config, 1);
    });

    it(`${what}: a cache miss reads GATEKIT_AGENT once, the cache once before the lock and once under it`, async () => {
      const run = await countReads(bin, ['broker', 'token', '--resource', 'notes']);
      assert.equal(run.code, 3);
      assert.deepEqual(run.reads, { config: 1, cache: 2, agent: 1 });
    });
  }
});

describe('the config is parsed once per process', () => {
  it('a second CLI run in the same process reads the config again (a changed file is never served stale)', async (t) => {
    const ws = workspace(basicConfig(ISSUER));
    t.after(() => ws.remove());
    new LoginStore(ISSUER, 'gatekit-cli', ws.config, ws.env).writeToken(cachedToken());
    const { main } = await import('../lib/cli/main.js');
    const io = (out: string[]) => ({
      out: (s: string) => out.push(s),
      err: () => {},
      env: ws.env,
      isInteractive: false,
    });
    const first: string[] = [];
    assert.equal(await main(['broker', 'token', '--resource', 'notes'], io(first)), 0);
    assert.equal(first.join(''), `${TOKEN}\n`);
    // Hostile edit between runs: the server is gone; a remembered parse would still answer from the cache.
    ws.write(basicConfig(ISSUER).replaceAll('servers.notes', 'servers.renamed'));
    assert.equal(await main(['broker', 'token', '--resource', 'notes'], io([])), 2);
  });
});

describe('the stored login', () => {
  const now = Math.floor(Date.now() / 1000);
  /** Exactly what gatekit wrote before the login embedded the provider's answer (format version 1). */
  const OLD_FILE = {
    version: 1,
    idp: ISSUER,
    client_id: 'gatekit-cli',
    kind: 'oidc',
    identity: { user: 'alice@example.com', sub: 'sub-alice', groups: ['ops'], auth_time: now - 60 },
    claims: { sub: 'sub-alice', email: 'alice@example.com' },
    refresh_token: 'refresh-secret',
    access_token: 'idp-access',
    id_token: 'a.b.c',
    logged_in_at: now - 60,
    refreshed_at: now - 30,
  };

  it('a login file written before the upgrade still reads: the person stays logged in', async (t) => {
    const ws = workspace(basicConfig(ISSUER));
    t.after(() => ws.remove());
    const store = new LoginStore(ISSUER, 'gatekit-cli', ws.config, ws.env);
    mkdirSync(store.dir, { recursive: true, mode: 0o700 });
    writeFileSync(store.loginFile, JSON.stringify(OLD_FILE), { mode: 0o600 });
    const login = store.readLogin();
    assert.equal(login?.provider.identity.user, 'alice@example.com');
    assert.equal(login?.provider.refresh_token, 'refresh-secret');
    const status = await gatekit(['broker', 'status', '--json'], { env: ws.env });
    assert.equal(status.code, 0);
    assert.equal(JSON.parse(status.stdout).user, 'alice@example.com');
    assert.equal(JSON.parse(status.stdout).renewable, true);
    // Written back in the same format, so going back to an older gatekit keeps the login too.
    store.writeLogin(login!);
    assert.deepEqual(JSON.parse(readFileSync(store.loginFile, 'utf8')), OLD_FILE);
  });

  it('a login file of another format version, or without an identity, is no login', async (t) => {
    const ws = workspace(basicConfig(ISSUER));
    t.after(() => ws.remove());
    const store = new LoginStore(ISSUER, 'gatekit-cli', ws.config, ws.env);
    mkdirSync(store.dir, { recursive: true, mode: 0o700 });
    const { identity: _i, ...anonymous } = OLD_FILE;
    for (const hostile of [{ ...OLD_FILE, version: 2 }, anonymous, { provider: OLD_FILE }]) {
      writeFileSync(store.loginFile, JSON.stringify(hostile), { mode: 0o600 });
      assert.equal(store.readLogin(), undefined);
    }
  });
});
