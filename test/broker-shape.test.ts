import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { agentToken, startTokenAgent } from '../lib/agent/index.js';
import { brokerContext, tokenFor } from '../lib/broker/index.js';
import { loadConfig } from '../lib/config/index.js';
import { isGatekitError } from '../lib/errors.js';
import { SessionStore, type CachedToken } from '../lib/store/index.js';
import { GATEKIT_BIN } from './helpers/cli.js';
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
    const input = { server: 'notes', minTtl: 60, interactive: false };
    const alone = brokerContext(config, elsewhere);
    await assert.rejects(tokenFor(alone, input, io), (err) => isGatekitError(err, 'LOGIN_REQUIRED'));
    const underExec = brokerContext(config, elsewhere, (resource, minTtl, proof) =>
      agentToken(agent.socketPath, resource, minTtl, config.file, proof),
    );
    assert.equal((await tokenFor(underExec, input, io)).access_token, TOKEN);
  });
});

// Counts reads of the config file: the preload patches fs.readFileSync, for CommonJS and (synced) ESM importers.
const COUNT_READS = `const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const read = fs.readFileSync;
let reads = 0;
fs.readFileSync = function (file, ...rest) {
  if (String(file) === process.env.COUNT_FILE) reads++;
  return read.call(this, file, ...rest);
};
syncBuiltinESMExports();
process.on('exit', () => fs.writeFileSync(process.env.COUNT_OUT, String(reads)));
`;

async function configReads(bin: string, args: string[]): Promise<{ code: number | null; reads: number }> {
  const ws = workspace(basicConfig(ISSUER));
  try {
    const preload = join(ws.dir, 'count.cjs');
    const out = join(ws.dir, 'reads.txt');
    writeFileSync(preload, COUNT_READS);
    const { CI: _ci, GATEKIT_AGENT: _agent, ...inherited } = process.env;
    const env = { ...inherited, ...ws.env, COUNT_FILE: ws.config, COUNT_OUT: out };
    const child = spawn(process.execPath, ['--require', preload, bin, ...args], { env, stdio: 'ignore' });
    const code = await new Promise<number | null>((done, fail) => {
      child.on('error', fail);
      child.on('close', done);
    });
    return { code, reads: Number(readFileSync(out, 'utf8')) };
  } finally {
    ws.remove();
  }
}

describe('the config is parsed once per process', () => {
  for (const [what, bin] of [
    ['the shipped bin (bundled fast path, then the full CLI)', SHIPPED_BIN],
    ['the ESM bin', GATEKIT_BIN],
  ] as const) {
    it(`${what}: a cache miss reads the config once on its way to "login required"`, async () => {
      const run = await configReads(bin, ['broker', 'token', '--resource', 'notes']);
      assert.equal(run.code, 3);
      assert.equal(run.reads, 1);
    });
  }

  it('a second CLI run in the same process reads the config again (a changed file is never served stale)', async (t) => {
    const ws = workspace(basicConfig(ISSUER));
    t.after(() => ws.remove());
    new SessionStore(ISSUER, 'gatekit-cli', ws.config, ws.env).writeToken(cachedToken());
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
