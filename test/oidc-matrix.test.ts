import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Quirks } from '../fixtures/idp/provider.js';
import { gatekit } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { freePort, mintedClaims, pkceLoginCli, quirkySetup } from './helpers/quirky.js';
import { expireCachedTokens, type Workspace } from './helpers/workspace.js';

/**
 * "Any OpenID provider" means more than one: each row is a real oidc-provider configured with a
 * quirk real providers have (README, "Identity providers", says which provider has which). Every row logs
 * in over the device flow, mints a token, refreshes, and logs out.
 */
const MATRIX: ReadonlyArray<{ name: string; quirks: Quirks }> = [
  { name: 'RS256, everything in the ID token (Okta-like)', quirks: { alg: 'RS256' } },
  { name: 'ES256 signing key', quirks: { alg: 'ES256' } },
  { name: 'EdDSA signing key', quirks: { alg: 'EdDSA' } },
  { name: 'no new ID token on refresh', quirks: { idTokenOnRefresh: false } },
  { name: 'no revocation endpoint (Entra ID-like)', quirks: { revocation: false } },
  { name: 'opaque sub, email and groups only at userinfo', quirks: { claimsInIdToken: false } },
  {
    name: 'opaque sub, claims only at userinfo, no new ID token on refresh',
    quirks: { claimsInIdToken: false, idTokenOnRefresh: false },
  },
];

/** A token, a refresh at the provider (the cached token aged out), and a logout that revokes. */
async function mintRefreshLogout(ws: Workspace): Promise<void> {
  const first = await mintedClaims(ws, 'fs');
  assert.equal(first.code, 0, first.stderr);
  expireCachedTokens(ws);
  const again = await mintedClaims(ws, 'fs');
  assert.equal(again.code, 0, again.stderr);
  assert.notEqual(again.claims!['jti'], first.claims!['jti']);
  const logout = await gatekit(['broker', 'logout'], { env: ws.env });
  assert.equal(logout.code, 0, logout.stderr);
  assert.match(logout.stderr, /revoked/i);
}

describe('OpenID providers with real-world quirks', () => {
  for (const { name, quirks } of MATRIX) {
    it(`${name}: login, token, refresh, group removed at the provider counts at the next mint, logout`, async (t) => {
      const { idp, ws } = await quirkySetup(t, quirks);
      const login = await deviceLoginCli(ws, 'bob@example.com');
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stderr, /Logged in as bob@example\.com \(groups: ops, eng\)/);

      const first = await mintedClaims(ws, 'notes');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.claims!['sub'], 'AAAAAAAAAAAAAAAAAAAAAJ3xq0Yk1mW9');
      assert.equal(first.claims!['email'], 'bob@example.com');
      assert.deepEqual(first.claims!['groups'], ['ops', 'eng']);

      idp.users.find((u) => u.email === 'bob@example.com')!.groups = ['eng'];
      expireCachedTokens(ws);
      const refreshesBefore = idp.counts['refresh_token'] ?? 0;
      const denied = await mintedClaims(ws, 'notes');
      assert.equal(denied.code, 4, 'no longer in "ops": the policy refuses at the next mint');
      assert.equal(idp.counts['refresh_token'], refreshesBefore + 1, 'the session was refreshed at the provider');
      const fs = await mintedClaims(ws, 'fs');
      assert.equal(fs.code, 0, fs.stderr);
      assert.deepEqual(fs.claims!['groups'], ['eng']);

      const logout = await gatekit(['broker', 'logout'], { env: ws.env });
      assert.equal(logout.code, 0, logout.stderr);
      if (quirks.revocation === false) assert.match(logout.stderr, /no revocation endpoint/);
      else assert.match(logout.stderr, /revoked/i);
      assert.equal((await gatekit(['broker', 'token', '--resource', 'fs'], { env: ws.env })).code, 3);
    });
  }

  it('no refresh token issued: the login serves while its access token lasts, with no refresh attempted', async (t) => {
    const { idp, ws } = await quirkySetup(t, { refreshTokens: false });
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    const minted = await mintedClaims(ws, 'fs');
    assert.equal(minted.code, 0, minted.stderr);
    assert.equal(minted.claims!['email'], 'alice@example.com');
    expireCachedTokens(ws);
    assert.equal((await mintedClaims(ws, 'fs')).code, 0, 're-minted from the stored login, no refresh needed');
    assert.equal(idp.counts['refresh_token'], undefined);
    const logout = await gatekit(['broker', 'logout'], { env: ws.env });
    assert.equal(logout.code, 0, logout.stderr);
  });

  it('nonce required: the PKCE login sends one, signs in, mints, refreshes, logs out', async (t) => {
    const { ws } = await quirkySetup(t, { requireNonce: true });
    const r = await pkceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.authorizeUrl.searchParams.get('nonce'));
    const without = new URL(r.authorizeUrl);
    without.searchParams.delete('nonce');
    assert.equal(
      (await fetch(without, { redirect: 'manual' })).status,
      400,
      'the provider does refuse a request without',
    );
    await mintRefreshLogout(ws);
  });

  it('exact-match redirect URIs: [idp] redirect_uri is the one registered, and the login lands on it', async (t) => {
    const port = await freePort('127.0.0.1');
    const redirect = `http://127.0.0.1:${port}/oidc/callback`;
    const { ws } = await quirkySetup(t, { redirectUris: [redirect] }, { idpExtra: `redirect_uri = "${redirect}"\n` });
    const r = await pkceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.authorizeUrl.searchParams.get('redirect_uri'), redirect);
    const otherPort = new URL(r.authorizeUrl);
    otherPort.searchParams.set('redirect_uri', `http://127.0.0.1:${port + 1}/oidc/callback`);
    assert.equal((await fetch(otherPort, { redirect: 'manual' })).status, 400, 'the provider matches exactly');
    await mintRefreshLogout(ws);
  });

  it('a fixed redirect_uri on [::1] is served on [::1], not 127.0.0.1', async (t) => {
    const port = await freePort('::1');
    const redirect = `http://[::1]:${port}/callback`;
    const { ws } = await quirkySetup(t, { redirectUris: [redirect] }, { idpExtra: `redirect_uri = "${redirect}"\n` });
    const r = await pkceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Logged in as alice@example\.com/);
    await mintRefreshLogout(ws);
  });
});
