import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUTS = ['dist/bin/gatekit.cjs', 'dist/bin/gatekit.js', 'dist/lib/cli/main.js'];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { cwd: REPO, env, timeout: 170_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the first `npx gatekit` in a checkout (README "Quickstart")', () => {
  it('links the built checkout into an empty npx cache, whose `prepare` finds dist/ current and rebuilds nothing', async (t) => {
    const { distIsCurrent } = (await import(pathToFileURL(join(REPO, 'scripts', 'build-inputs.mjs')).href)) as {
      distIsCurrent: () => boolean;
    };
    // Else npx would rebuild dist/ under the other tests' feet.
    assert.ok(distIsCurrent(), 'dist/ is not built from the current sources: run "npm run build" first');
    const cache = mkdtempSync(join(tmpdir(), 'gatekit-npx-cache-'));
    t.after(() => rmSync(cache, { recursive: true, force: true }));
    const before = OUTPUTS.map((f) => statSync(join(REPO, f)).mtimeMs);
    const { CI: _ci, GATEKIT_CONFIG: _c, ...inherited } = process.env;
    // An empty cache: npx must link the checkout and run its prepare, as on a person's first `npx gatekit`.
    const env = {
      ...inherited,
      npm_config_cache: cache,
      npm_config_foreground_scripts: 'true',
      npm_config_update_notifier: 'false',
    };
    const r = await run('npx', ['gatekit', '--version'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trim().split('\n').at(-1),
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version,
    );
    assert.match(r.stderr, /prepare: dist\/ is current \(built from these sources\); no rebuild/);
    assert.deepEqual(
      OUTPUTS.map((f) => statSync(join(REPO, f)).mtimeMs),
      before,
      'prepare rebuilt dist/',
    );
  });
});
