import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, mintAccessToken, readJwksFile } from '../lib/token/index.js';
import { gatekit } from './helpers/cli.js';
import { brokerKey, decodePart, signEd25519, signHs256, strangerKey, unsigned } from './helpers/forge.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const ws = workspace(basicConfig('http://127.0.0.1:7499'));
const RESOURCE = 'urn:gatekit:server:notes';
let key: ReturnType<typeof brokerKey>;

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'urn:gatekit:broker:test',
    sub: 'opaque-sub-1',
    aud: RESOURCE,
    exp: now + 300,
    iat: now,
    jti: randomBytes(16).toString('base64url'),
    client_id: 'gatekit-cli',
    scope: 'tools:read_*',
    email: 'alice@example.com',
    groups: [],
    auth_time: now,
    ...overrides,
  };
}
const header = (overrides: Record<string, unknown> = {}) => ({
  alg: 'EdDSA',
  typ: 'at+jwt',
  kid: key.kid,
  ...overrides,
});

describe('tokens', () => {
  before(async () => {
    await initialize(loadConfig({ config: ws.config }), { force: false });
    key = brokerKey(join(ws.dir, 'keys', 'broker.jwk'));
  });
  after(() => ws.remove());

  it('are minted exactly as the RFC 9068 profile Gatekit documents: header and claims', async () => {
    const signing = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
    const { token } = await mintAccessToken(signing, {
      identity: { user: 'alice@example.com', sub: 'opaque-sub-1', groups: ['eng'], auth_time: 1_700_000_000 },
      issuer: 'urn:gatekit:broker:test',
      resource: RESOURCE,
      scope: 'tools:read_* tools:list_*',
      clientId: 'gatekit-cli',
      userClaim: 'email',
      ttl: 300,
    });
    assert.deepEqual(decodePart(token, 0), { alg: 'EdDSA', typ: 'at+jwt', kid: signing.kid });
    const c = decodePart(token, 1);
    assert.deepEqual(Object.keys(c).sort(), [
      'aud',
      'auth_time',
      'client_id',
      'email',
      'exp',
      'groups',
      'iat',
      'iss',
      'jti',
      'scope',
      'sub',
    ]);
    assert.equal(c['aud'], RESOURCE);
    assert.equal(c['sub'], 'opaque-sub-1');
    assert.equal(c['email'], 'alice@example.com');
    assert.deepEqual(c['groups'], ['eng']);
    assert.equal(c['auth_time'], 1_700_000_000);
    assert.equal((c['exp'] as number) - (c['iat'] as number), 300);
    assert.ok(Buffer.from(c['jti'] as string, 'base64url').length >= 16, 'jti carries ≥128 bits');
    assert.equal(readJwksFile(join(ws.dir, 'keys', 'broker.jwks')).keys[0]!.kid, signing.kid);
  });

  it('token verify accepts a good token and prints its claims', async () => {
    const r = await gatekit(['token', 'verify', signEd25519(header(), claims(), key.key)], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).email, 'alice@example.com');
    assert.match(r.stderr, /valid: alice@example\.com may use server "notes"/);
  });

  it('token verify reads the token from stdin with "-"', async () => {
    const r = await gatekit(['token', 'verify', '-'], {
      env: ws.env,
      input: `${signEd25519(header(), claims(), key.key)}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const hostile: Array<[string, () => string, RegExp]> = [
    ['garbage', () => 'not-a-token', /malformed/],
    ['alg none', () => unsigned({ alg: 'none', typ: 'at+jwt', kid: key.kid }, claims()), /malformed|alg/],
    [
      'alg none with a signature part',
      () => `${unsigned({ alg: 'none', typ: 'at+jwt', kid: key.kid }, claims())}AAAA`,
      /alg|signature/,
    ],
    [
      'HS256 keyed with the public key',
      () => signHs256({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, claims(), Buffer.from(key.x, 'base64url')),
      /alg/,
    ],
    [
      'HS256 keyed with the public JWK text',
      () => signHs256({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, claims(), key.x),
      /alg/,
    ],
    ['wrong typ', () => signEd25519(header({ typ: 'JWT' }), claims(), key.key), /typ/],
    ['no typ', () => signEd25519({ alg: 'EdDSA', kid: key.kid }, claims(), key.key), /typ/],
    ['wrong iss', () => signEd25519(header(), claims({ iss: 'urn:gatekit:broker:evil' }), key.key), /iss/],
    ['wrong aud', () => signEd25519(header(), claims({ aud: 'urn:gatekit:server:fs' }), key.key), /aud|resource/],
    [
      'aud listing two resources',
      () => signEd25519(header(), claims({ aud: [RESOURCE, 'urn:gatekit:server:fs'] }), key.key),
      /aud|resource/,
    ],
    ['expired', () => signEd25519(header(), claims({ iat: now() - 900, exp: now() - 300 }), key.key), /expired/],
    [
      'iat in the future',
      () => signEd25519(header(), claims({ iat: now() + 600, exp: now() + 900 }), key.key),
      /future/,
    ],
    ['lifetime over an hour', () => signEd25519(header(), claims({ exp: now() + 7200 }), key.key), /lifetime/],
    ['no jti', () => signEd25519(header(), claims({ jti: undefined }), key.key), /jti/],
    ['short jti', () => signEd25519(header(), claims({ jti: 'abc' }), key.key), /jti/],
    ['no sub', () => signEd25519(header(), claims({ sub: undefined }), key.key), /sub/],
    ['unknown kid', () => signEd25519(header({ kid: 'someone-else' }), claims(), strangerKey()), /untrusted key/],
    ['no kid', () => signEd25519({ alg: 'EdDSA', typ: 'at+jwt' }, claims(), key.key), /kid/],
    ['trusted kid, stranger key', () => signEd25519(header(), claims(), strangerKey()), /signature/],
    [
      'embedded jwk header',
      () => {
        const evil = strangerKey();
        const jwk = { kty: 'OKP', crv: 'Ed25519', x: (evil.export({ format: 'jwk' }) as { x: string }).x };
        return signEd25519(header({ jwk, kid: 'attacker' }), claims(), evil);
      },
      /untrusted key/,
    ],
    [
      'jku header',
      () => signEd25519(header({ jku: 'http://127.0.0.1:1/jwks', kid: 'attacker' }), claims(), strangerKey()),
      /untrusted key/,
    ],
    [
      'tampered payload',
      () => {
        const [h, , s] = signEd25519(header(), claims(), key.key).split('.');
        return `${h}.${Buffer.from(JSON.stringify(claims({ scope: 'tools:*' }))).toString('base64url')}.${s}`;
      },
      /signature/,
    ],
  ];
  for (const [name, make, reason] of hostile) {
    it(`token verify rejects: ${name}`, async () => {
      const r = await gatekit(['token', 'verify', make(), '--resource', 'notes'], { env: ws.env });
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'prints no claims');
      assert.match(r.stderr, reason);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }

  it('token verify refuses a signed token the current policy no longer allows: exit 4 naming the rule', async () => {
    const r = await gatekit(
      ['token', 'verify', signEd25519(header(), claims({ email: 'mallory@example.com' }), key.key)],
      { env: ws.env },
    );
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /allow_users|allow_groups/);
  });

  it('token verify never echoes the token in an error', async () => {
    const token = signEd25519(header({ typ: 'JWT' }), claims(), key.key);
    const r = await gatekit(['token', 'verify', token], { env: ws.env });
    assert.ok(!r.stderr.includes(token.split('.')[2]!) && !r.stderr.includes(token.split('.')[1]!));
  });

  it('keys rotate: a new kid signs, tokens of the old kid stay valid', async () => {
    const old = signEd25519(header(), claims(), key.key);
    const r = await gatekit(['keys', 'rotate'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    const kid = r.stdout.trim();
    assert.notEqual(kid, key.kid);
    const jwks = JSON.parse((await gatekit(['keys', 'jwks'], { env: ws.env })).stdout);
    assert.deepEqual(
      jwks.keys.map((k: { kid: string }) => k.kid),
      [kid, key.kid],
    );
    assert.ok(
      jwks.keys.every((k: Record<string, unknown>) => k['d'] === undefined),
      'no private parts in the JWKS',
    );
    assert.equal((await gatekit(['token', 'verify', old], { env: ws.env })).code, 0);
    key = brokerKey(join(ws.dir, 'keys', 'broker.jwk'));
    assert.equal(key.kid, kid);
  });

  it('init is idempotent and --force replaces the key', async () => {
    const again = await gatekit(['init'], { env: ws.env });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /kept/);
    assert.equal(brokerKey(join(ws.dir, 'keys', 'broker.jwk')).kid, key.kid);
    const forced = await gatekit(['init', '--force'], { env: ws.env });
    assert.equal(forced.code, 0);
    assert.notEqual(brokerKey(join(ws.dir, 'keys', 'broker.jwk')).kid, key.kid);
  });
});
