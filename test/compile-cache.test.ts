import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileCacheDir } from '../lib/cli/compile-cache.js';

const isRoot = process.getuid?.() === 0;

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

  it(
    'refuses a directory owned by another user (no cache rather than theirs)',
    { skip: isRoot ? false : 'needs root to chown to another uid' },
    () => {
      const home = cacheHome();
      mkdirSync(join(home, 'gatekit', 'node-compile-cache'), { recursive: true, mode: 0o700 });
      chownSync(join(home, 'gatekit', 'node-compile-cache'), 4242, 4242);
      assert.equal(compileCacheDir({ XDG_CACHE_HOME: home }), undefined);
      const parent = cacheHome();
      mkdirSync(join(parent, 'gatekit'), { recursive: true, mode: 0o777 });
      chownSync(join(parent, 'gatekit'), 4242, 4242);
      assert.equal(compileCacheDir({ XDG_CACHE_HOME: parent }), undefined);
    },
  );

  it('refuses when the uid does not match (any user, without root)', () => {
    const home = cacheHome();
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: home }, (process.getuid?.() ?? 0) + 1), undefined);
  });
});
