import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gatekit } from './helpers/cli.js';
import { reachableDir, runAsOtherUser, skipUnlessOtherUser } from './helpers/other-user.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

const ISSUER = 'http://127.0.0.1:7499';

/** `broker status` must refuse with exit 2, naming the offending path, and print nothing on stdout. */
async function assertRefused(ws: Workspace, path: string): Promise<void> {
  const r = await gatekit(['broker', 'status'], { env: ws.env });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.split('\n')[0]!.includes(path), `names ${path}: ${r.stderr}`);
}

function withWorkspace(toml: string, fn: (ws: Workspace) => Promise<void>): () => Promise<void> {
  return async () => {
    const ws = workspace(toml);
    try {
      await fn(ws);
    } finally {
      ws.remove();
    }
  };
}

describe('refuses files and directories someone else could write', () => {
  it(
    'accepts the ordinary case: config 0644 in a 0700 directory',
    withWorkspace(basicConfig(ISSUER), async (ws) => {
      assert.equal((await gatekit(['broker', 'status'], { env: ws.env })).code, 0);
    }),
  );

  it(
    'a config file writable by group or others',
    withWorkspace(basicConfig(ISSUER), async (ws) => {
      chmodSync(ws.config, 0o664);
      await assertRefused(ws, ws.config);
      chmodSync(ws.config, 0o646);
      await assertRefused(ws, ws.config);
    }),
  );

  it('a config file another user (uid nobody) wrote into a shared directory', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const shared = reachableDir(t, { shared: true });
    const config = join(shared, 'gatekit.toml');
    const r = await runAsOtherUser(
      user,
      `import { writeFileSync } from 'node:fs'; writeFileSync(process.argv[1], process.argv[2], { mode: 0o644 });`,
      [config, basicConfig(ISSUER)],
    );
    assert.equal(r.code, 0, r.stderr);
    const home = join(reachableDir(t), 'state');
    const refused = await gatekit(['broker', 'status'], { env: { GATEKIT_CONFIG: config, GATEKIT_HOME: home } });
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr.split('\n')[0]!, new RegExp(`${config}.*owned by uid ${user.uid}`));
  });

  it(
    'a state directory (GATEKIT_HOME) writable by others',
    withWorkspace(basicConfig(ISSUER), async (ws) => {
      mkdirSync(ws.home);
      chmodSync(ws.home, 0o777);
      await assertRefused(ws, ws.home);
    }),
  );

  it('a state directory another user (uid nobody) created first in a shared directory', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const shared = reachableDir(t, { shared: true });
    const ws = workspace(basicConfig(ISSUER));
    t.after(() => ws.remove());
    const home = join(shared, 'state');
    const r = await runAsOtherUser(
      user,
      `import { mkdirSync } from 'node:fs'; mkdirSync(process.argv[1], { mode: 0o700 });`,
      [home],
    );
    assert.equal(r.code, 0, r.stderr);
    await assertRefused({ ...ws, env: { ...ws.env, GATEKIT_HOME: home } }, home);
  });

  it(
    'a config directory writable by others, unless sticky',
    withWorkspace(basicConfig(ISSUER), async (ws) => {
      chmodSync(ws.dir, 0o777);
      await assertRefused(ws, ws.dir);
      chmodSync(ws.dir, 0o1777);
      assert.equal((await gatekit(['broker', 'status'], { env: ws.env })).code, 0);
      chmodSync(ws.dir, 0o700);
    }),
  );

  it(
    'a trusted_keys directory writable by others',
    withWorkspace(
      basicConfig(ISSUER).replace('trusted_keys = "keys/broker.jwks"', 'trusted_keys = "shared/broker.jwks"'),
      async (ws) => {
        mkdirSync(join(ws.dir, 'shared'));
        chmodSync(join(ws.dir, 'shared'), 0o777);
        await assertRefused(ws, join(ws.dir, 'shared'));
      },
    ),
  );

  it(
    'a signing_key directory writable by others',
    withWorkspace(basicConfig(ISSUER).replace('[broker]', '[broker]\nsigning_key = "open/broker.jwk"'), async (ws) => {
      mkdirSync(join(ws.dir, 'open'));
      chmodSync(join(ws.dir, 'open'), 0o777);
      await assertRefused(ws, join(ws.dir, 'open'));
    }),
  );

  it(
    'a Unix-socket directory writable by others',
    withWorkspace(basicConfig(ISSUER, 'listen = "unix:sockets/fs.sock"'), async (ws) => {
      mkdirSync(join(ws.dir, 'sockets'));
      chmodSync(join(ws.dir, 'sockets'), 0o777);
      await assertRefused(ws, join(ws.dir, 'sockets'));
    }),
  );

  it(
    'a token_listen socket directory writable by others',
    withWorkspace(
      basicConfig(ISSUER).replace('[daemon]', '[daemon]\ntoken_listen = "unix:tok/token.sock"'),
      async (ws) => {
        mkdirSync(join(ws.dir, 'tok'));
        chmodSync(join(ws.dir, 'tok'), 0o757);
        await assertRefused(ws, join(ws.dir, 'tok'));
      },
    ),
  );

  it(
    'a metrics_listen socket directory writable by others, sticky or not',
    withWorkspace(
      basicConfig(ISSUER).replace('[daemon]', '[daemon]\nmetrics_listen = "unix:met/metrics.sock"'),
      async (ws) => {
        mkdirSync(join(ws.dir, 'met'));
        chmodSync(join(ws.dir, 'met'), 0o1777);
        await assertRefused(ws, join(ws.dir, 'met'));
      },
    ),
  );
});
