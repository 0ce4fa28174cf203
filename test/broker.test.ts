import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { collect, gatekit, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { chromiumAvailable, loginInBrowser } from './helpers/browser.js';
import { basicConfig, expireCachedTokens, workspace, type Workspace } from './helpers/workspace.js';

function stateFiles(ws: Workspace): string[] {
  try {
    return readdirSync(ws.home).map((f) => join(ws.home, f));
  } catch {
    return [];
  }
}

describe('broker against a real OpenID provider', () => {
  let idp: DevIdp;
  let ws: Workspace;

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(basicConfig(idp.issuer));
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
  });
  after(async () => {
    await idp.close();
    ws.remove();
  });

  it('without a login, broker token exits 3 at once with a hint (no TTY, never waits)', async () => {
    const started = Date.now();
    const r = await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /gatekit broker login/);
    assert.equal(r.stdout, '');
    assert.ok(Date.now() - started < 10_000);
  });

  it('device login (RFC 8628) completed over HTTP, then a token whose claims match §3', async () => {
    const r = await deviceLoginCli(ws, 'alice@example.com', ['--resource', 'notes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Logged in as alice@example\.com/);
    assert.match(r.stderr, /token for notes/);

    const out = await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'json'], { env: ws.env });
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout);
    const verified = await gatekit(['token', 'verify', json.access_token, '--resource', 'notes'], { env: ws.env });
    assert.equal(verified.code, 0, verified.stderr);
    const claims = JSON.parse(verified.stdout);
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.aud, 'urn:gatekit:server:notes');
    assert.equal(claims.iss, 'urn:gatekit:broker:test');
    assert.equal(claims.client_id, 'gatekit-cli');
    assert.equal(claims.scope, 'tools:read_* tools:list_*');
    assert.deepEqual(claims.groups, ['eng']);
    assert.notEqual(claims.sub, 'alice@example.com', "sub is the provider's opaque subject");
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(claims.exp - claims.iat, 300);
  });

  it('keeps the session in private files: dir 0700, files 0600, no temp files left', () => {
    assert.equal(statSync(ws.home).mode & 0o777, 0o700);
    const files = stateFiles(ws).filter((f) => !f.endsWith('.lock'));
    assert.ok(files.some((f) => f.endsWith('.session.json')));
    for (const file of files) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    assert.ok(!files.some((f) => /\.tmp/.test(f)));
  });

  it('formats: raw, env, headers', async () => {
    const raw = (await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env })).stdout.trim();
    assert.match(raw, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const env = (await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'env'], { env: ws.env })).stdout;
    assert.ok(env.startsWith(`GATEKIT_TOKEN=${raw}\nGATEKIT_TOKEN_EXPIRES_AT=`), env);
    const headers = JSON.parse(
      (await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'headers'], { env: ws.env })).stdout,
    );
    assert.deepEqual(headers, { Authorization: `Bearer ${raw}` });
  });

  it('status shows who is logged in and the tokens, never a token', async () => {
    const r = await gatekit(['broker', 'status', '--json'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout);
    assert.equal(status.user, 'alice@example.com');
    assert.equal(status.renewable, true);
    assert.deepEqual(
      status.tokens.map((t: { server: string }) => t.server),
      ['notes'],
    );
    assert.doesNotMatch(r.stdout, /eyJ/);
  });

  it('an expired token is re-minted after a refresh at the provider', async () => {
    const before = idp.counts['refresh_token'] ?? 0;
    const old = (await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env })).stdout;
    expireCachedTokens(ws);
    const r = await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout, old);
    assert.equal(idp.counts['refresh_token'], before + 1);
  });

  it('10 parallel broker token calls with an expired cache: exactly one refresh at the provider', async () => {
    expireCachedTokens(ws);
    const before = idp.counts['refresh_token'] ?? 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env })),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(results.map((r) => r.stdout)).size, 1, 'all got the one new token');
    assert.equal(idp.counts['refresh_token'], before + 1);
  });

  it('a lock left by a dead process is taken over', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const lock = stateFiles(ws)
      .find((f) => f.endsWith('.session.json'))!
      .replace(/\.session\.json$/, '.lock');
    writeFileSync(lock, dead.stdout);
    expireCachedTokens(ws);
    const started = Date.now();
    const r = await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - started < 10_000);
  });

  it('without a terminal, a lock held by a live process (a login elsewhere) is waited for only briefly: exit 3', async (t) => {
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    t.after(() => {
      holder.kill();
    });
    const lock = stateFiles(ws)
      .find((f) => f.endsWith('.session.json'))!
      .replace(/\.session\.json$/, '.lock');
    writeFileSync(lock, `${holder.pid}\n`);
    t.after(() => rmSync(lock, { force: true }));
    expireCachedTokens(ws);
    const r = await gatekit(['broker', 'token', '--resource', 'notes'], {
      env: { ...ws.env, GATEKIT_TEST_LOCK_WAIT_MS: '200' },
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /in progress elsewhere/);
  });

  it('a person outside the policy logs in but gets exit 4 naming the rule', async () => {
    const other = workspace(basicConfig(idp.issuer));
    try {
      assert.equal((await gatekit(['init'], { env: other.env })).code, 0);
      const r = await deviceLoginCli(other, 'carol@example.com', ['--resource', 'notes']);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /carol@example\.com/);
      assert.match(r.stderr, /servers\.notes\.allow_users/);
      const token = await gatekit(['broker', 'token', '--resource', 'fs'], { env: other.env });
      assert.equal(token.code, 4);
      assert.match(token.stderr, /servers\.fs\.allow_groups/);
    } finally {
      other.remove();
    }
  });

  it('a denied device login exits non-zero with a clear line', async () => {
    const other = workspace(basicConfig(idp.issuer));
    try {
      const r = await deviceLoginCli(other, 'alice@example.com', [], { deny: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /denied|refused/i);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      other.remove();
    }
  });

  it(
    'PKCE login (S256, loopback redirect) in headless Chromium',
    {
      skip:
        !chromiumAvailable() && !process.env['CI']
          ? 'Debian chromium is not installed (run .ci/ensure-chromium as root)'
          : false,
    },
    async () => {
      const other = workspace(basicConfig(idp.issuer));
      try {
        assert.equal((await gatekit(['init'], { env: other.env })).code, 0);
        const child = spawnGatekit(['broker', 'login', '--flow', 'pkce', '--resource', 'notes'], {
          env: { ...other.env, BROWSER: 'true' },
        });
        const done = collect(child, { timeoutMs: 60_000 });
        const [, url] = await waitForStderr(child, /visit:\s+(http\S+)/);
        const authorize = new URL(url!);
        assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
        assert.match(authorize.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\//);
        assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
        const landing = await loginInBrowser(url!, 'bob@example.com');
        assert.match(landing, /You can close this tab/);
        const r = await done;
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Logged in as bob@example\.com \(groups: ops, eng\)/);
        const token = await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'json'], { env: other.env });
        assert.equal(token.code, 0);
        assert.equal(JSON.parse(token.stdout).scope, 'tools:read_* tools:list_* tools:write_*');
      } finally {
        other.remove();
      }
    },
  );

  it('logout revokes the refresh token at the provider and forgets the session', async () => {
    const sessionFile = stateFiles(ws).find((f) => f.endsWith('.session.json'))!;
    const { refresh_token: refreshToken } = JSON.parse(readFileSync(sessionFile, 'utf8'));
    assert.equal(typeof refreshToken, 'string');
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      token_endpoint: string;
    };
    const refresh = () =>
      fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: 'gatekit-cli',
        }),
      });
    const r = await gatekit(['broker', 'logout'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const after = await refresh();
    assert.equal(after.status, 400, 'the provider no longer honours the refresh token');
    assert.equal(((await after.json()) as { error: string }).error, 'invalid_grant');
    assert.deepEqual(
      stateFiles(ws).filter((f) => !f.endsWith('.lock')),
      [],
      'session and cached tokens removed',
    );
    const token = await gatekit(['broker', 'token', '--resource', 'notes'], { env: ws.env });
    assert.equal(token.code, 3);
    assert.equal(token.stdout, '');
  });

  it('an unreachable provider: exit 5 with a clear line', async () => {
    const other = workspace(basicConfig(idp.issuer));
    try {
      await deviceLoginCli(other, 'alice@example.com');
      await idp.close();
      const r = await gatekit(['broker', 'token', '--resource', 'notes'], { env: other.env });
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /unreachable|could not reach/i);
    } finally {
      other.remove();
      idp = await startDevIdp({ issuer: idp.issuer });
    }
  });
});
