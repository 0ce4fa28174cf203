import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { deviceTokensFor } from './helpers/device-token.js';
import { startForgeIdp, type ForgeIdp } from './helpers/forge-idp.js';
import { decodePart, unsigned } from './helpers/forge.js';
import { startTokenHost, TOKEN_TYPE, type ExchangeAnswer, type TokenHost } from './helpers/token-endpoint.js';

/** RFC 8693 §2.2.2: a refused subject token is 400 invalid_grant, one auth.failed line, and no echo of it anywhere. */
async function assertRefused(host: TokenHost, token: string, send: () => Promise<ExchangeAnswer>): Promise<void> {
  const failedBefore = host.audit().filter((l) => l['event'] === 'auth.failed').length;
  const r = await send();
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body['error'], 'invalid_grant');
  assert.equal(r.body['access_token'], undefined);
  const lines = host.audit();
  assert.equal(lines.filter((l) => l['event'] === 'auth.failed').length, failedBefore + 1);
  assert.equal(lines.at(-1)!['event'], 'auth.failed');
  for (const part of token.split('.').filter((p) => p.length >= 8)) {
    assert.ok(!r.text.includes(part), 'the answer echoes the subject token');
    assert.ok(!host.auditText().includes(part), 'the audit log echoes the subject token');
  }
}

describe('token exchange: an IdP access token issued to another application is never traded', () => {
  let idp: DevIdp;
  let byDefault: TokenHost;
  let introspecting: TokenHost;
  let ours: { access_token: string; id_token: string };
  let otherApps: { access_token: string; id_token: string };

  before(async () => {
    idp = await startDevIdp({ otherClients: ['other-app'] });
    byDefault = await startTokenHost(idp.issuer);
    introspecting = await startTokenHost(idp.issuer, 'accept_access_tokens = "introspection"');
    ours = await deviceTokensFor(idp.issuer, 'gatekit-cli', 'alice@example.com');
    otherApps = await deviceTokensFor(idp.issuer, 'other-app', 'alice@example.com');
  });
  after(async () => {
    await byDefault?.close();
    await introspecting?.close();
    await idp?.close();
  });

  it('refuses, by default, an access token even of our own client (userinfo proves nothing about its client)', async () => {
    await assertRefused(byDefault, ours.access_token, () => byDefault.exchange(ours.access_token, TOKEN_TYPE.access));
  });

  it('refuses, by default, a real access token the IdP issued to a second client', async () => {
    await assertRefused(byDefault, otherApps.access_token, () =>
      byDefault.exchange(otherApps.access_token, TOKEN_TYPE.access),
    );
  });

  it("with introspection on, refuses the second client's real access token: invalid_grant, auth.failed, no echo", async () => {
    await assertRefused(introspecting, otherApps.access_token, () =>
      introspecting.exchange(otherApps.access_token, TOKEN_TYPE.access),
    );
  });

  it('with introspection on, trades an access token the IdP issued to our client', async () => {
    const r = await introspecting.exchange(ours.access_token, TOKEN_TYPE.access);
    assert.equal(r.status, 200, r.text);
    assert.equal(decodePart(String(r.body['access_token']), 1)['email'], 'alice@example.com');
  });

  it("refuses the second client's real ID token (its aud is not our client)", async () => {
    await assertRefused(byDefault, otherApps.id_token, () => byDefault.exchange(otherApps.id_token, TOKEN_TYPE.id));
  });

  it('refuses an access token sent as an ID token, and garbage as an access token', async () => {
    await assertRefused(introspecting, ours.access_token, () =>
      introspecting.exchange(ours.access_token, TOKEN_TYPE.id),
    );
    await assertRefused(introspecting, 'not-a-token-at-all', () =>
      introspecting.exchange('not-a-token-at-all', TOKEN_TYPE.access),
    );
  });
});

describe('token exchange: ID tokens checked as OIDC Core §3.1.3.7 says, JWT access tokens named for our client', () => {
  let forge: ForgeIdp;
  let host: TokenHost;
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    forge = await startForgeIdp();
    host = await startTokenHost(forge.issuer, 'accept_access_tokens = "jwt"');
  });
  after(async () => {
    await host?.close();
    await forge?.close();
  });

  it('trades a fresh, well-formed ID token (the control for the refusals below)', async () => {
    const r = await host.exchange(
      await forge.idToken({ aud: ['gatekit-cli', 'other-app'], azp: 'gatekit-cli' }),
      TOKEN_TYPE.id,
    );
    assert.equal(r.status, 200, r.text);
  });

  const idTokens: Array<[string, () => Promise<string>]> = [
    ['an azp naming another client', () => forge.idToken({ azp: 'other-app' })],
    ['several audiences and no azp', () => forge.idToken({ aud: ['gatekit-cli', 'other-app'] })],
    [
      'a logout token (events claim)',
      () => forge.idToken({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }),
    ],
    ['a logout token (typ logout+jwt)', () => forge.idToken({}, { typ: 'logout+jwt' })],
    [
      'an iat older than id_token_max_age (exp still ahead)',
      () => forge.idToken({ iat: now() - 15 * 60, exp: now() + 3600 }),
    ],
    ['an iat in the future', () => forge.idToken({ iat: now() + 600, exp: now() + 900 })],
    [
      'an RFC 9068 access token of another client (typ at+jwt, client_id other-app, our client its aud, no azp)',
      () => forge.idToken({ client_id: 'other-app', scope: 'openid' }, { typ: 'at+jwt' }),
    ],
    [
      'typ at+jwt, even naming our client in client_id',
      () => forge.idToken({ client_id: 'gatekit-cli' }, { typ: 'at+jwt' }),
    ],
    ['a client_id claim naming another client (typ JWT)', () => forge.idToken({ client_id: 'other-app' })],
    ['an auth_time in the future', () => forge.idToken({ auth_time: now() + 600 })],
    ['alg none', async () => unsigned({ alg: 'none', typ: 'JWT' }, decodePart(await forge.idToken(), 1))],
    [
      "HS256 keyed with the IdP's public key bytes",
      async () => {
        const [header, payload] = (await forge.idToken()).split('.');
        const forged = Buffer.from(
          JSON.stringify({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), alg: 'HS256' }),
        ).toString('base64url');
        return `${forged}.${payload}.${createHmac('sha256', forge.rsaPublicPem).update(`${forged}.${payload}`).digest('base64url')}`;
      },
    ],
    ['ES256 by a key in the JWKS, an algorithm discovery does not list', () => forge.idToken({}, {}, 'ec')],
  ];
  for (const [name, make] of idTokens) {
    it(`refuses an ID token with ${name}: invalid_grant`, async () => {
      const token = await make();
      await assertRefused(host, token, () => host.exchange(token, TOKEN_TYPE.id));
    });
  }

  it('an ID token whose email is unverified never names that person: policy refuses the bare sub', async () => {
    const r = await host.exchange(await forge.idToken({ email_verified: false }), TOKEN_TYPE.id);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body['error'], 'access_denied');
    const denied = host
      .audit()
      .filter((l) => l['event'] === 'denied')
      .at(-1)!;
    assert.equal(denied['user'], 'alice-sub');
  });

  const jwtAccess = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    forge.sign(
      {
        iss: forge.issuer,
        sub: 'alice-sub',
        email: 'alice@example.com',
        iat: now(),
        exp: now() + 300,
        ...claims,
      },
      { typ: 'at+jwt', ...header },
    );

  it('trades a JWT access token whose client_id is ours', async () => {
    const r = await host.exchange(
      await jwtAccess({ aud: 'https://api.example.com', client_id: 'gatekit-cli' }),
      TOKEN_TYPE.access,
    );
    assert.equal(r.status, 200, r.text);
  });

  const accessTokens: Array<[string, () => Promise<string>]> = [
    [
      'issued to another client (client_id)',
      () => jwtAccess({ aud: 'https://api.example.com', client_id: 'other-app' }),
    ],
    [
      'issued to another client though its aud lists ours (azp)',
      () => jwtAccess({ aud: ['gatekit-cli', 'https://api'], azp: 'other-app' }),
    ],
    ['that names no client at all', () => jwtAccess({ aud: 'https://api.example.com' })],
    ['expired', () => jwtAccess({ client_id: 'gatekit-cli', iat: now() - 900, exp: now() - 300 })],
    ['from another issuer', () => jwtAccess({ client_id: 'gatekit-cli', iss: 'https://evil.example.com' })],
    ['a logout token', () => jwtAccess({ client_id: 'gatekit-cli' }, { typ: 'logout+jwt' })],
    [
      'alg none',
      async () =>
        unsigned(
          { alg: 'none' },
          {
            iss: forge.issuer,
            sub: 'alice-sub',
            email: 'alice@example.com',
            client_id: 'gatekit-cli',
            exp: now() + 300,
          },
        ),
    ],
  ];
  for (const [name, make] of accessTokens) {
    it(`refuses a JWT access token ${name}: invalid_grant`, async () => {
      const token = await make();
      await assertRefused(host, token, () => host.exchange(token, TOKEN_TYPE.access));
    });
  }
});

describe('token exchange: RFC 7662 introspection as a confidential client', () => {
  let forge: ForgeIdp;
  let host: TokenHost;
  before(async () => {
    forge = await startForgeIdp();
    host = await startTokenHost(forge.issuer, 'accept_access_tokens = "introspection"', '', {
      idpExtra: 'client_secret = "s3cr:et"',
    });
  });
  after(async () => {
    await host?.close();
    await forge?.close();
  });
  const person = { sub: 'alice-sub', email: 'alice@example.com', iss: '' };

  it('authenticates with HTTP Basic (RFC 6749 §2.3.1 encoding) and trades a token active for our client', async () => {
    forge.introspection.set('ours-opaque', { ...person, iss: forge.issuer, active: true, client_id: 'gatekit-cli' });
    const r = await host.exchange('ours-opaque', TOKEN_TYPE.access);
    assert.equal(r.status, 200, r.text);
    assert.equal(
      forge.lastIntrospection!.authorization,
      `Basic ${Buffer.from('gatekit-cli:s3cr%3Aet').toString('base64')}`,
    );
    assert.equal(forge.lastIntrospection!.form.get('client_id'), null);
  });

  const answers: Array<[string, Record<string, unknown>]> = [
    ['active for another client', { ...person, active: true, client_id: 'other-app', aud: 'gatekit-cli' }],
    ['active, naming no client', { ...person, active: true }],
    ['not active', { ...person, active: false, client_id: 'gatekit-cli' }],
    ['active as the string "true"', { ...person, active: 'true', client_id: 'gatekit-cli' }],
    ['from another issuer', { ...person, active: true, client_id: 'gatekit-cli', iss: 'https://evil.example.com' }],
    ['without a sub', { email: 'alice@example.com', active: true, client_id: 'gatekit-cli' }],
  ];
  for (const [name, answer] of answers) {
    it(`refuses a token the IdP calls ${name}: invalid_grant`, async () => {
      const token = `opaque-${name.replace(/\W+/g, '-')}-0123456789`;
      forge.introspection.set(token, { ...answer, ...(answer['iss'] === '' ? { iss: forge.issuer } : {}) });
      await assertRefused(host, token, () => host.exchange(token, TOKEN_TYPE.access));
    });
  }
});
