import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { DoorMemory, passToken, type Credentials, type DoorState } from '../lib/daemon/door.js';
import type { ServerConfig } from '../lib/config/index.js';
import { initialize } from '../lib/setup/index.js';
import {
  accessTokenHash,
  DpopKey,
  DpopReplayCache,
  loadSigningKey,
  loadTrustedKeys,
  mintAccessToken,
  verifyDpopProof,
  VerifiedTokenCache,
} from '../lib/token/index.js';
import { daemonConfig } from './helpers/daemon-harness.js';
import { workspace } from './helpers/workspace.js';

const URL_MCP = 'http://localhost/mcp';
const dpopInvalid = { code: 'DPOP_INVALID' };

/** A config, its trusted keys, a token cache and a token for alice on `notes` (bound to the DPoP key `jkt`, if given). */
async function door(
  t: TestContext,
  jkt?: string,
): Promise<{ state: DoorState; server: ServerConfig; token: string; file: string }> {
  const ws = workspace(await daemonConfig());
  t.after(() => ws.remove());
  const config = loadConfig({ config: ws.config });
  await initialize(config, { force: false });
  const key = await loadSigningKey(join(ws.dir, 'keys', 'broker.jwk'));
  const server = config.servers.get('notes')!;
  const { token } = await mintAccessToken(key, {
    identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
    issuer: config.broker.issuer,
    resource: server.resource,
    scope: 'tools:*',
    clientId: 'gatekit-cli',
    userClaim: 'email',
    ttl: 600,
    jkt,
  });
  const keys = await loadTrustedKeys(config.daemon.trusted_keys);
  const state = { config, keys, cache: new VerifiedTokenCache(), door: new DoorMemory() };
  return { state, server, token, file: ws.config };
}

describe('door: a token already verified passes without a promise, and is still checked (lib/daemon/door.ts)', () => {
  it('answers a known token synchronously, with the same admission', async (t) => {
    const { state, server, token } = await door(t);
    const first = passToken(token, state, { server });
    assert.ok(first instanceof Promise, 'an unknown token is verified asynchronously');
    const admitted = await first;
    const again = passToken(token, state, { server });
    assert.ok(!(again instanceof Promise), 'a known token needs no promise');
    assert.equal(again, admitted);
    assert.equal(again.person.user, 'alice@example.com');
  });

  it('still refuses a known token once it has expired (the binding and expiry are checked on every request)', async (t) => {
    const { state, server, token } = await door(t);
    await passToken(token, state, { server });
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 2 * 3600 * 1000 });
    assert.throws(() => passToken(token, state, { server }), { code: 'TOKEN_EXPIRED' });
  });

  it('still refuses a known token for another server', async (t) => {
    const { state, server, token } = await door(t);
    await passToken(token, state, { server });
    const other = [...state.config.servers.values()].find((s) => s.name !== 'notes')!;
    assert.throws(() => passToken(token, state, { server: other }), { code: 'TOKEN_INVALID' });
  });

  it("a reloaded config's not-before refuses a token admitted under the old one, with the same token cache", async (t) => {
    const { state, server, token, file } = await door(t);
    assert.equal((await passToken(token, state, { server })).person.user, 'alice@example.com');
    const revoked = readFileSync(file, 'utf8').replace(
      '[daemon.limits]',
      `[daemon.not_before]\n"alice@example.com" = ${new Date(Date.now() + 60_000).toISOString()}\n\n[daemon.limits]`,
    );
    writeFileSync(file, revoked);
    const reloaded = loadConfig({ config: file });
    const next = { ...state, config: reloaded };
    assert.throws(() => passToken(token, next, { server: reloaded.servers.get('notes')! }), { code: 'TOKEN_INVALID' });
    assert.equal(
      (await passToken(token, state, { server })).person.user,
      'alice@example.com',
      'the old config object is unchanged',
    );
  });
});

describe('door: a known DPoP-bound token with a valid proof passes without a promise (lib/daemon/door.ts)', () => {
  it('answers synchronously once the token is known, and still refuses a replayed proof', async (t) => {
    const key = await DpopKey.generate('EdDSA');
    const { state, server, token } = await door(t, key.jkt);
    const replays = new DpopReplayCache();
    const withProof = (proof: string): Credentials => ({
      server,
      proofKey: (claims) =>
        verifyDpopProof(proof, {
          method: 'POST',
          url: URL_MCP,
          accessTokenHash: accessTokenHash(token),
          replays,
          boundTo: claims.cnf?.jkt,
        }).jkt,
    });
    const first = passToken(token, state, withProof(key.proof('POST', URL_MCP, token)));
    assert.ok(first instanceof Promise, 'an unknown token is verified asynchronously');
    await first;
    const proof = key.proof('POST', URL_MCP, token);
    const again = passToken(token, state, withProof(proof));
    assert.ok(!(again instanceof Promise), 'a known token with a valid proof needs no promise');
    assert.equal(again.person.user, 'alice@example.com');
    assert.throws(() => passToken(token, state, withProof(proof)), dpopInvalid);
    const other = await DpopKey.generate('EdDSA');
    assert.throws(() => passToken(token, state, withProof(other.proof('POST', URL_MCP, token))), {
      code: 'TOKEN_INVALID',
    });
    assert.equal(accessTokenHash(token).length, 43);
  });
});
