import assert from 'node:assert/strict';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit } from './helpers/cli.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

/** The ✘ line for one check, with its fix. */
function failure(stdout: string, name: string): string {
  const lines = stdout.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`✘ ${name}`));
  assert.ok(i >= 0, `expected ✘ ${name} in:\n${stdout}`);
  return `${lines[i]}\n${lines[i + 1]}`;
}

describe('gatekit doctor', () => {
  let idp: DevIdp;
  let ws: Workspace;
  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(basicConfig(idp.issuer));
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
  });
  after(async () => {
    await idp.close();
    ws.remove();
  });

  it('healthy keys and IdP pass; a daemon that is not running fails with the command to start it', async () => {
    const r = await gatekit(['doctor'], { env: ws.env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✔ signing key/);
    assert.match(r.stdout, /✔ trusted keys/);
    assert.match(r.stdout, /✔ identity provider/);
    assert.match(failure(r.stdout, 'daemon: notes'), /fix: start it: gatekit daemon/);
    assert.match(failure(r.stdout, 'login'), /gatekit broker login/);
  });

  it('a signing key others can read: the config check fails naming chmod', async () => {
    chmodSync(join(ws.dir, 'keys', 'broker.jwk'), 0o644);
    const r = await gatekit(['doctor'], { env: ws.env });
    chmodSync(join(ws.dir, 'keys', 'broker.jwk'), 0o600);
    assert.equal(r.code, 1);
    assert.match(failure(r.stdout, 'config'), /chmod 600/);
  });

  it('a missing key: ✘ with "gatekit init"', async () => {
    const other = workspace(basicConfig(idp.issuer));
    try {
      const r = await gatekit(['doctor'], { env: other.env });
      assert.match(failure(r.stdout, 'signing key'), /missing[\s\S]*gatekit init/);
    } finally {
      other.remove();
    }
  });

  it('an IdP that is down: ✘ identity provider with the reason', async () => {
    const down = workspace(basicConfig('http://127.0.0.1:9'));
    try {
      assert.equal((await gatekit(['init'], { env: down.env })).code, 0);
      const r = await gatekit(['doctor', '--json'], { env: down.env });
      const idpCheck = JSON.parse(r.stdout).find((c: { name: string }) => c.name === 'identity provider');
      assert.equal(idpCheck.ok, false);
      assert.match(idpCheck.detail, /cannot reach/);
    } finally {
      down.remove();
    }
  });

  it('a deleted JWKS: ✘ trusted keys', async () => {
    rmSync(join(ws.dir, 'keys', 'broker.jwks'));
    const r = await gatekit(['doctor'], { env: ws.env });
    assert.match(failure(r.stdout, 'trusted keys'), /gatekit init/);
  });
});
