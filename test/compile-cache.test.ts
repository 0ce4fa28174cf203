import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileCacheDir } from '../lib/cli/compile-cache.js';
import { reachableDir, runAsOtherUser, skipUnlessOtherUser, skipUnlessRoot } from './helpers/other-user.js';

describe('Node compile cache directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatekit-cc-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const cacheHome = () => join(root, `c${n++}`);

  it('is created under $XDG_CACHE_HOME/gatekit, 0700, never the shared /tmp default', () => {
    const home = cacheHome();
    const dir = compileCacheDir({ XDG_CACHE_HOME: home });
    assert.equal(dir, join(home, 'gatekit', 'node-compile-cache'));
    assert.equal(statSync(dir!).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, 'gatekit')).mode & 0o777, 0o700);
  });

  it('ignores a relative $XDG_CACHE_HOME (XDG spec) and uses ~/.cache', () => {
    const home = cacheHome();
    assert.equal(
      compileCacheDir({ XDG_CACHE_HOME: 'relative/cache' }, process.getuid?.(), home),
      join(home, '.cache', 'gatekit', 'node-compile-cache'),
    );
  });

  it('closes an existing directory of ours that others could write', () => {
    const home = cacheHome();
    mkdirSync(join(home, 'gatekit', 'node-compile-cache'), { recursive: true });
    chmodSync(join(home, 'gatekit', 'node-compile-cache'), 0o777);
    const dir = compileCacheDir({ XDG_CACHE_HOME: home });
    assert.equal(statSync(dir!).mode & 0o777, 0o700);
  });

  it('refuses a cache directory another user (uid nobody) created first in a shared directory', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const shared = reachableDir(t, { shared: true });
    const r = await runAsOtherUser(
      user,
      `import { mkdirSync } from 'node:fs';
       mkdirSync(process.argv[1] + '/a/gatekit/node-compile-cache', { recursive: true, mode: 0o700 });
       mkdirSync(process.argv[1] + '/b/gatekit', { recursive: true, mode: 0o777 });`,
      [shared],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: join(shared, 'a') }), undefined);
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: join(shared, 'b') }), undefined);
  });

  it('refuses a directory chowned to another user', (t) => {
    if (!skipUnlessRoot(t)) return;
    const home = cacheHome();
    mkdirSync(join(home, 'gatekit', 'node-compile-cache'), { recursive: true, mode: 0o700 });
    chownSync(join(home, 'gatekit', 'node-compile-cache'), 65534, 65534);
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: home }), undefined);
  });

  it('refuses when the uid does not match (any user, without root)', () => {
    const home = cacheHome();
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: home }, (process.getuid?.() ?? 0) + 1), undefined);
  });
});
