import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { freePort } from './helpers/daemon-harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NAME = '@gatekit-dev/gatekit';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end (no shell); `code` is its exit code, never a throw. */
function run(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr: stderr + (err && typeof err.code !== 'number' ? String(err) : '') });
    });
  });
}

/**
 * What someone who never clones the repository gets: `npm pack` of the built checkout, installed
 * into an empty prefix with production dependencies only (from npm's cache when it has them).
 */
describe('the packed package, installed without the repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-pack-'));
  const prefix = join(dir, 'prefix');
  const home = join(dir, 'work');
  const bin = join(prefix, 'node_modules', '.bin', 'gatekit');
  const installed = join(prefix, 'node_modules', ...NAME.split('/'));
  // Outside the checkout: no config or state of the person running the tests, no dev IdP login state.
  const { GATEKIT_CONFIG: _c, GATEKIT_HOME: _h, GATEKIT_AGENT: _a, CI: _ci, ...inherited } = process.env;
  const env = { ...inherited, GATEKIT_HOME: join(home, 'state') };

  before(async () => {
    mkdirSync(prefix);
    mkdirSync(home);
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO);
    assert.equal(pack.code, 0, pack.stderr);
    const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
    const install = await run(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, filename!),
      ],
      dir,
    );
    assert.equal(install.code, 0, install.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`installs as ${NAME} with the bin "gatekit", and no devDependency`, () => {
    assert.ok(existsSync(bin), 'node_modules/.bin/gatekit is missing');
    assert.equal(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).name, NAME);
    for (const dev of ['typescript', 'esbuild', '@modelcontextprotocol/server-everything', 'playwright-core']) {
      assert.ok(!existsSync(join(prefix, 'node_modules', dev)), `${dev} was installed`);
    }
  });

  it('gatekit --help runs from the installed package', async () => {
    const r = await run(bin, ['--help'], home, env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gatekit <command>/);
  });

  it('gatekit init and gatekit dev --demo run from the installed package, with its own demo server', async () => {
    // The example config the package ships, with its servers pointed at the package's own MCP server
    // (the example's "everything" server is a devDependency) and its ports moved to free ones.
    const notes = join(installed, 'dist', 'fixtures', 'servers', 'notes.js');
    const files = join(installed, 'dist', 'fixtures', 'servers', 'files.js');
    const toml = readFileSync(join(installed, 'gatekit.toml'), 'utf8')
      .replace('"node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"', JSON.stringify(notes))
      .replace('"dist/fixtures/servers/notes.js"', JSON.stringify(notes))
      .replace('"dist/fixtures/servers/files.js"', JSON.stringify(files))
      .replace('127.0.0.1:7400', `127.0.0.1:${await freePort()}`)
      .replace('127.0.0.1:7401', `127.0.0.1:${await freePort()}`);
    assert.doesNotMatch(toml, /"(node_modules|dist)\//, 'the example config names a path only the repository has');
    writeFileSync(join(home, 'gatekit.toml'), toml);
    const init = await run(bin, ['init'], home, env);
    assert.equal(init.code, 0, init.stderr);
    assert.ok(existsSync(join(home, 'keys', 'broker.jwk')));
    const demo = await run(bin, ['dev', '--demo'], home, env);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stderr, /tools\/call through gatekit connect → echo: /);
  });
});
