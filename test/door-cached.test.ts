import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { passDoor, type DoorInput } from '../lib/daemon/verify-request.js';
import { initialize } from '../lib/setup/index.js';
import { loadSigningKey, loadTrustedKeys, mintAccessToken, VerifiedTokenCache } from '../lib/token/index.js';
import { daemonConfig } from './helpers/daemon-harness.js';
import { workspace } from './helpers/workspace.js';

/** A config, its trusted keys, a token cache and a token for alice on `notes`. */
async function door(t: TestContext): Promise<{ input: DoorInput; token: string; file: string }> {
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
  });
  const keys = await loadTrustedKeys(config.daemon.trusted_keys);
  return { input: { config, keys, cache: new VerifiedTokenCache(), server }, token, file: ws.config };
}

describe('door: a token already verified passes without a promise, and is still checked (verify-request.ts)', () => {
  it('answers a known token synchronously, with the same admission', async (t) => {
    const { input, token } = await door(t);
    const first = passDoor(token, input);
    assert.ok(first instanceof Promise, 'an unknown token is verified asynchronously');
    const admitted = await first;
    const again = passDoor(token, input);
    assert.ok(!(again instanceof Promise), 'a known token needs no promise');
    assert.equal(again, admitted);
    assert.equal(again.user, 'alice@example.com');
  });

  it('still refuses a known token once it has expired (the binding and expiry are checked on every request)', async (t) => {
    const { input, token } = await door(t);
    await passDoor(token, input);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 2 * 3600 * 1000 });
    assert.throws(() => passDoor(token, input), { code: 'TOKEN_EXPIRED' });
  });

  it('still refuses a known token for another server', async (t) => {
    const { input, token } = await door(t);
    await passDoor(token, input);
    const other = [...input.config.servers.values()].find((s) => s.name !== 'notes')!;
    assert.throws(() => passDoor(token, { ...input, server: other }), { code: 'TOKEN_INVALID' });
  });

  it("a reloaded config's not-before refuses a token admitted under the old one, with the same token cache", async (t) => {
    const { input, token, file } = await door(t);
    assert.equal((await passDoor(token, input)).user, 'alice@example.com');
    const revoked = readFileSync(file, 'utf8').replace(
      '[daemon.limits]',
      `[daemon.not_before]\n"alice@example.com" = ${new Date(Date.now() + 60_000).toISOString()}\n\n[daemon.limits]`,
    );
    writeFileSync(file, revoked);
    const reloaded = loadConfig({ config: file });
    const next = { ...input, config: reloaded, server: reloaded.servers.get('notes')! };
    assert.throws(() => passDoor(token, next), { code: 'TOKEN_INVALID' });
    assert.equal((await passDoor(token, input)).user, 'alice@example.com', 'the old config object is unchanged');
  });
});
