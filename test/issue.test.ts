import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type Config } from '../lib/config/index.js';
import { writeFileAtomic } from '../lib/files.js';
import { issueAccessToken } from '../lib/issue/index.js';
import { generateSigningJwk, loadSigningKey, type SigningKey } from '../lib/token/index.js';
import { decodePart } from './helpers/forge.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

describe('issueAccessToken: policy then mint, one set of defaults for local mode and the token endpoint', () => {
  let ws: Workspace;
  let config: Config;
  let key: SigningKey;
  before(async () => {
    ws = workspace(basicConfig('https://idp.example.com'));
    config = loadConfig({ config: ws.config, env: ws.env });
    const file = join(ws.dir, 'broker.jwk');
    writeFileAtomic(file, JSON.stringify(await generateSigningJwk()), 0o600);
    key = await loadSigningKey(file);
  });
  after(() => ws.remove());

  const alice = { user: 'alice@example.com', sub: 'sub-alice', groups: ['ops'] };

  it("mints with the policy's scope, the broker's issuer and ttl, the IdP's client_id", async () => {
    const server = config.servers.get('notes')!;
    const { token, claims } = await issueAccessToken({ config, key: () => key, server, identity: alice });
    const payload = decodePart(token, 1);
    assert.equal(payload['iss'], 'urn:gatekit:broker:test');
    assert.equal(payload['aud'], server.resource);
    assert.equal(payload['client_id'], 'gatekit-cli');
    assert.equal(payload['email'], 'alice@example.com');
    assert.equal(claims.exp - claims.iat, 300);
    assert.ok(claims.scope.split(' ').includes('tools:write_*'), claims.scope);
  });

  it('refuses a person the policy does not admit: POLICY_DENIED, the signing key never asked for', async () => {
    const server = config.servers.get('notes')!;
    const mallory = { user: 'mallory@example.com', sub: 'sub-mallory', groups: ['eng'] };
    const key = () => assert.fail('the key was asked for before the policy admitted the person');
    await assert.rejects(issueAccessToken({ config, key, server, identity: mallory }), { code: 'POLICY_DENIED' });
  });

  it('binds to a DPoP key rather than a certificate when given both (one cnf per token)', async () => {
    const server = config.servers.get('notes')!;
    const input = {
      config,
      key: () => key,
      server,
      identity: alice,
      jkt: 'a'.repeat(43),
      certThumbprint: 'b'.repeat(43),
    };
    const { claims } = await issueAccessToken(input);
    assert.deepEqual(claims.cnf, { jkt: 'a'.repeat(43) });
  });
});
