import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));

/** `npm install` in the checkout, as the README's first step, says nothing a person must act on. */
describe('npm install prints no warning a person cannot act on', () => {
  it(`npm ci on Node ${process.versions.node} warns of no unsupported engine (EBADENGINE)`, async (t) => {
    // The lock alone decides what npm ci installs: a dry run over a copy reads every package's engines.
    const dir = mkdtempSync(join(tmpdir(), 'gatekit-install-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(REPO, f), join(dir, f));
    const output = await new Promise<string>((resolve) => {
      execFile(
        'npm',
        ['ci', '--dry-run', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'],
        { cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 120_000 },
        (err, stdout, stderr) => resolve(`${stdout}${stderr}${err ? String(err) : ''}`),
      );
    });
    assert.doesNotMatch(output, /EBADENGINE/, output);
  });

  it('every package with an install script is named in package.json "allowScripts" (npm 11 warns otherwise)', () => {
    const scripted = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.split('node_modules/').at(-1)!);
    assert.ok(scripted.includes('esbuild'), 'esbuild has a postinstall script');
    for (const name of scripted) assert.equal(pkg.allowScripts?.[name], true, `${name} is not in allowScripts`);
  });
});

describe("npm test installs nothing (system packages are .ci/run's, before it)", () => {
  it('no script npm runs for "npm test" calls apt-get or the .ci/ensure-* installers; .ci/run does, before npm test', () => {
    for (const name of ['pretest', 'test', 'posttest']) {
      assert.doesNotMatch(pkg.scripts[name] ?? '', /apt-get|\.ci\/ensure-/, `scripts.${name}`);
    }
    const run = readFileSync(join(REPO, '.ci', 'run'), 'utf8');
    const at = (line: string) => run.split('\n').indexOf(line);
    for (const script of ['sh .ci/ensure-chromium', 'sh .ci/ensure-lemonldap']) {
      assert.ok(at(script) >= 0 && at(script) < at('npm test'), `${script} before npm test in .ci/run`);
    }
    assert.equal(at('npm ci') + 1, at('npm test'), '.ci/run runs the README test command right after npm ci');
  });
});
