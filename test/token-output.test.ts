import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LoginStore, type CachedToken } from '../lib/store/index.js';
import { gatekit } from './helpers/cli.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const ISSUER = 'http://127.0.0.1:9';
const GOOD = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln';

function cached(overrides: Partial<Record<keyof CachedToken, unknown>>): CachedToken {
  return {
    access_token: GOOD,
    expires_at: Math.floor(Date.now() / 1000) + 3000,
    issued_at: Math.floor(Date.now() / 1000),
    server: 'notes',
    resource: 'urn:gatekit:server:notes',
    issuer: 'urn:gatekit:broker:test',
    scope: 'tools:*',
    jti: 'j'.repeat(22),
    ...overrides,
  } as CachedToken;
}

/** Each poison, and the exit code: 1 (refused), or 3 where the cache reader already treats the file as a miss. */
const POISONS: Array<[string, Partial<Record<keyof CachedToken, unknown>>, number?]> = [
  ['a newline that injects NODE_OPTIONS', { access_token: `${GOOD}\nNODE_OPTIONS=--require=/tmp/evil.js` }],
  ['a space and a second variable', { access_token: `${GOOD} GATEKIT_X=1` }],
  ['more than 8 KiB', { access_token: `${GOOD}${'A'.repeat(8200)}` }],
  ['not three parts', { access_token: 'a.b' }],
  ['not a string', { access_token: { evil: true } }, 3],
  ['an expires_at that is not an integer', { expires_at: Math.floor(Date.now() / 1000) + 3000.5 }],
  [
    'an expires_at that is a string with a newline',
    { expires_at: `${Math.floor(Date.now() / 1000) + 3000}\nNODE_OPTIONS=x` },
    3,
  ],
];

describe('broker token prints only a compact JWS of at most 8 KiB', () => {
  const ws = workspace(basicConfig(ISSUER));
  const store = new LoginStore(ISSUER, 'gatekit-cli', ws.config, ws.env);
  after(() => ws.remove());

  it('prints a well-formed cached token', async () => {
    store.writeToken(cached({}));
    const r = await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'env'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`GATEKIT_TOKEN=${GOOD}\n`));
  });

  for (const [name, poison, code = 1] of POISONS) {
    it(`a poisoned cache file with ${name}: exit ${code}, nothing on stdout`, async () => {
      store.writeToken(cached(poison));
      for (const format of ['env', 'raw', 'json', 'headers']) {
        const r = await gatekit(['broker', 'token', '--resource', 'notes', '--format', format], { env: ws.env });
        assert.equal(r.code, code, `${format}: ${r.stderr}`);
        assert.equal(r.stdout, '', format);
        assert.doesNotMatch(r.stderr, /NODE_OPTIONS|evil/, 'the poison is not echoed');
      }
    });
  }

  it('a poisoned answer from the exec token agent: exit 1, nothing on stdout', async (t) => {
    const socketPath = join(ws.dir, 'agent.sock');
    const agent = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(cached(POISONS[0]![1])));
    });
    await new Promise<void>((resolve) => agent.listen(socketPath, resolve));
    t.after(() => new Promise((r) => agent.close(r)));
    for (const extra of [[], ['--debug']]) {
      const r = await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'env', ...extra], {
        env: { ...ws.env, GATEKIT_AGENT: socketPath },
      });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });
});
