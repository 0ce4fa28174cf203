import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const HEAVY = ['yargs', 'jose', 'openid-client', 'oidc-provider', 'undici', '@modelcontextprotocol/sdk', '@peculiar/x509', 'playwright-core'];
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Every module reached from `entry` by static imports (dynamic `import()` is not followed). */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

const dist = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

describe('start-up stays light', () => {
  it('lib/cli/main (what bin/gatekit loads) statically imports no heavy dependency (handlers load theirs lazily)', () => {
    const { packages } = staticGraph(dist('lib/cli/main.js'));
    const heavy = [...packages].filter((p) => HEAVY.includes(p));
    assert.deepEqual(heavy, [], `statically imported: ${heavy.join(', ')}`);
  });

  it('the cached `broker token` path reaches only config, store and formatting code', () => {
    const { files, packages } = staticGraph(dist('lib/cli/fast-token.js'));
    assert.deepEqual([...packages], [], 'smol-toml is required lazily as CommonJS; nothing else');
    const folders = new Set([...files].map((f) => f.split('/dist/lib/')[1]?.split('/')[0]));
    for (const folder of ['oidc', 'token', 'daemon', 'devidp', 'policy']) assert.ok(!folders.has(folder), `fast path loads lib/${folder}`);
  });
});
