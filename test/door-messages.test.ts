import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brokerKey, signEd25519 } from './helpers/forge.js';
import { BROKER_ISSUER, INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';

/** RFC 6750 §3: the characters an error_description may hold (no double quote, no backslash). */
const DESCRIPTION = /error_description="([\x20\x21\x23-\x5b\x5d-\x7e]*)"/;

describe('the door says what it expected of a token it refuses', () => {
  let h: Harness;
  let key: ReturnType<typeof brokerKey>;
  before(async () => {
    h = await startHarness();
    key = brokerKey(join(h.ws.dir, 'keys', 'broker.jwk'));
  });
  after(() => h.close());

  async function refused(token: string) {
    const r = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(r.status, 401, r.body);
    const challenge = String(r.headers['www-authenticate']);
    const description = DESCRIPTION.exec(challenge)?.[1];
    assert.ok(description, `no RFC 6750 error_description in ${challenge}`);
    return { message: JSON.parse(r.body).error.message as string, description };
  }

  it('another issuer: names it and the trusted one; the challenge keeps it readable without a double quote', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'urn:gatekit:broker:evil',
      sub: 'sub-alice',
      aud: 'urn:gatekit:server:notes',
      exp: now + 300,
      iat: now,
      jti: randomBytes(16).toString('base64url'),
      client_id: 'gatekit-cli',
      scope: 'tools:*',
      email: 'alice@example.com',
      groups: [],
    };
    const header = { alg: 'EdDSA', typ: 'at+jwt', kid: key.kid };
    const r = await refused(signEd25519(header, claims, key.key));
    assert.equal(r.message, `token issuer "urn:gatekit:broker:evil" is not trusted here (expected "${BROKER_ISSUER}")`);
    assert.equal(
      r.description,
      `token issuer 'urn:gatekit:broker:evil' is not trusted here (expected '${BROKER_ISSUER}')`,
    );
  });

  it("another audience: names the token's and this server's", async () => {
    const r = await refused(await h.token('everything'));
    assert.equal(
      r.message,
      'token is for "urn:gatekit:server:everything", expected "urn:gatekit:server:notes" (this server)',
    );
    assert.equal(
      r.description,
      "token is for 'urn:gatekit:server:everything', expected 'urn:gatekit:server:notes' (this server)",
    );
  });

  it('a certificate-bound token without the certificate: names the thumbprint it is bound to', async () => {
    const thumbprint = randomBytes(32).toString('base64url');
    const r = await refused(await h.token('notes', { certThumbprint: thumbprint }));
    assert.equal(
      r.message,
      `token is bound to a client certificate (x5t#S256 ${thumbprint}); this connection presented none`,
    );
  });
});
