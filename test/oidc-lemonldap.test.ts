import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizeAtLemonldap, lemonldapMissing, startLemonldap } from '../fixtures/idp/lemonldap.js';
import { collect, gatekit, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { freePort, mintedClaims } from './helpers/quirky.js';
import { basicConfig, expireCachedTokens, workspace } from './helpers/workspace.js';

/**
 * A provider that is not oidc-provider: Debian's LemonLDAP::NG 2.16 portal. It has no device
 * flow and no revocation endpoint, lists only confidential-client auth methods in its discovery
 * document although it serves public clients, and matches redirect URIs exactly.
 */
describe('LemonLDAP::NG as the identity provider', () => {
  it('PKCE login at its portal, a token, refresh, logout without revocation', async (t) => {
    // A skip on the test itself (not its suite), so the run counts it as skipped, with the reason printed.
    const missing = lemonldapMissing();
    if (missing) {
      process.stderr.write(`# ${t.name}: SKIPPED (not passed): ${missing}\n`);
      return t.skip(missing);
    }
    const redirect = `http://127.0.0.1:${await freePort('127.0.0.1')}/callback`;
    const port = await freePort('127.0.0.1');
    const llng = await startLemonldap({ port, clientId: 'gatekit-cli', redirectUri: redirect });
    t.after(() => llng.close());
    const toml = basicConfig(llng.issuer).replace(
      'client_id = "gatekit-cli"\n',
      `client_id = "gatekit-cli"\nredirect_uri = "${redirect}"\n`,
    );
    const ws = workspace(toml.replace('allow_users = ["alice@example.com"]', 'allow_users = ["dwho@badwolf.org"]'));
    t.after(() => ws.remove());
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);

    const child = spawnGatekit(['broker', 'login', '--flow', 'pkce'], { env: { ...ws.env, BROWSER: 'true' } });
    const done = collect(child, { timeoutMs: 120_000 });
    const [, url] = await waitForStderr(child, /visit:\s+(http\S+)/);
    await authorizeAtLemonldap(url!, 'dwho');
    const login = await done;
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Logged in as dwho@badwolf\.org/);

    const status = JSON.parse((await gatekit(['broker', 'status', '--json'], { env: ws.env })).stdout);
    assert.equal(status.sub, 'dwho');
    assert.ok(status.groups.includes('ops') && status.groups.includes('eng'), JSON.stringify(status.groups));
    const first = await mintedClaims(ws, 'notes');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.claims!['email'], 'dwho@badwolf.org');
    expireCachedTokens(ws);
    const again = await mintedClaims(ws, 'notes');
    assert.equal(again.code, 0, again.stderr);
    assert.notEqual(again.claims!['jti'], first.claims!['jti']);

    const logout = await gatekit(['broker', 'logout'], { env: ws.env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stderr, /no revocation endpoint/);
  });
});
