import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { personConfig, startTokenHost, type TokenHost } from './helpers/token-endpoint.js';
import { expireCachedTokens, workspace, type Workspace } from './helpers/workspace.js';

describe('daemon mode, the CLI side: it sends the ID token, never the access token the daemon does not accept', () => {
  let idp: DevIdp;
  let host: TokenHost;
  let cli: Workspace;

  before(async () => {
    // ID tokens that live 20 s: the CLI used to fall back to the IdP access token when one had < 30 s left.
    idp = await startDevIdp({ ttl: { idToken: 20 } });
    host = await startTokenHost(idp.issuer);
    cli = workspace(personConfig(idp.issuer, host.socket));
  });
  after(async () => {
    await host?.close();
    await idp?.close();
    cli?.remove();
  });

  it('login --resource and a later broker token both exchange the ID token, with access tokens off', async () => {
    const login = await deviceLoginCli(cli, 'alice@example.com', ['--resource', 'notes']);
    assert.equal(login.code, 0, login.stderr);
    expireCachedTokens(cli);
    const token = await gatekit(['broker', 'token', '--resource', 'notes'], { env: cli.env });
    assert.equal(token.code, 0, token.stderr);
    const lines = host.audit();
    assert.equal(lines.filter((l) => l['event'] === 'token.exchange' && l['user'] === 'alice@example.com').length, 2);
    assert.equal(lines.filter((l) => l['event'] === 'auth.failed').length, 0);
  });
});
