import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QuirkyUser, Quirks } from '../fixtures/idp/provider.js';
import { gatekit } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { mintedClaims, quirkySetup } from './helpers/quirky.js';
import { expireCachedTokens } from './helpers/workspace.js';

/**
 * OpenID Connect Core §3.1.3.7 in local mode, through real logins at a real oidc-provider that is
 * configured to issue the claims in question (findAccount claims, a token-endpoint middleware).
 */
const person = (extra: Partial<QuirkyUser> = {}): QuirkyUser[] => [
  { email: 'alice@example.com', name: 'Alice', sub: 'u-7f3c9a1e52b04d8e', groups: ['eng'], ...extra },
];

const notLoggedIn = async (ws: { env: NodeJS.ProcessEnv }) =>
  (await gatekit(['broker', 'token', '--resource', 'fs'], { env: ws.env })).code;

describe('ID tokens are checked as OpenID Connect Core §3.1.3.7 says', () => {
  it('refuses a login whose ID token was issued to another client (azp)', async (t) => {
    const { ws } = await quirkySetup(t, {}, { users: person({ extra: { azp: 'some-other-client' } }) });
    const r = await deviceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /issued to another client/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(await notLoggedIn(ws), 3, 'nothing was stored');
  });

  it('refuses a login whose ID token names another client in client_id (the shared check of the exchange)', async (t) => {
    const { ws } = await quirkySetup(t, {}, { users: person({ extra: { client_id: 'other-app' } }) });
    const r = await deviceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /issued to another client \(client_id\)/);
    assert.equal(await notLoggedIn(ws), 3, 'nothing was stored');
  });

  it('accepts an azp equal to our client_id', async (t) => {
    const { ws } = await quirkySetup(t, {}, { users: person({ extra: { azp: 'gatekit-cli' } }) });
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    assert.equal((await mintedClaims(ws, 'fs')).code, 0);
  });

  it('refuses a refresh whose new ID token names another client in azp', async (t) => {
    const users = person({ extra: { azp: 'gatekit-cli' } });
    const { ws } = await quirkySetup(t, {}, { users });
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    (users[0] as { extra: Record<string, unknown> }).extra = { azp: 'some-other-client' };
    expireCachedTokens(ws);
    const r = await mintedClaims(ws, 'fs');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /issued to another client/);
  });

  it('never takes a back-channel logout token (typ logout+jwt, events) for an ID token', async (t) => {
    const { ws } = await quirkySetup(t, { logoutTokenAsIdToken: true });
    const r = await deviceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /logout token/);
    assert.equal(await notLoggedIn(ws), 3);
  });

  it('never takes a token typed logout+jwt for an ID token, even without an `events` claim', async (t) => {
    const { ws } = await quirkySetup(t, { logoutTokenAsIdToken: 'without-events' });
    const r = await deviceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /logout token/);
  });

  it('refuses a refresh whose userinfo answer speaks for another subject', async (t) => {
    const quirks: Quirks = { idTokenOnRefresh: false };
    const { ws } = await quirkySetup(t, quirks);
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    quirks.userinfoOverride = { sub: 'u-someone-else', email: 'bob@example.com', groups: ['ops'] };
    expireCachedTokens(ws);
    const r = await mintedClaims(ws, 'notes');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /userinfo/);
  });

  it('never takes a token with an `events` claim for an ID token', async (t) => {
    const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
    const { ws } = await quirkySetup(t, {}, { users: person({ extra: { events } }) });
    const r = await deviceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /logout token/);
  });

  it('an email marked unverified never names the person: the opaque sub does, and allow_users refuses', async (t) => {
    const { ws } = await quirkySetup(t, {}, { users: person({ email_verified: false }) });
    const r = await deviceLoginCli(ws, 'alice@example.com');
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse((await gatekit(['broker', 'status', '--json'], { env: ws.env })).stdout);
    assert.equal(status.user, 'u-7f3c9a1e52b04d8e');
    const notes = await mintedClaims(ws, 'notes');
    assert.equal(notes.code, 4, 'allow_users = ["alice@example.com"] does not admit an unverified alice@example.com');
    const fs = await mintedClaims(ws, 'fs');
    assert.equal(fs.code, 0, fs.stderr);
    assert.equal(fs.claims!['email'], 'u-7f3c9a1e52b04d8e');
  });

  it('an unverified email only at userinfo does not name the person either', async (t) => {
    const { ws } = await quirkySetup(t, { claimsInIdToken: false }, { users: person({ email_verified: false }) });
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    assert.equal((await mintedClaims(ws, 'notes')).code, 4);
  });
});
