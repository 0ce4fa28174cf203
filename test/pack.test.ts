import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { collect, waitForStderr } from './helpers/cli.js';
import { freePort } from './helpers/daemon-harness.js';
import { spawn } from 'node:child_process';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NAME = '@gatekit-dev/gatekit';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end (no shell unless asked); `code` is its exit code, never a throw. */
function run(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr: stderr + (err && typeof err.code !== 'number' ? String(err) : '') });
    });
  });
}

/** The README's "Installing without the repository" shell block, line by line (continuations joined). */
function readmeInstallBlock(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Installing without the repository'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter(Boolean);
}

/**
 * What someone who never clones the repository gets: `npm pack` of the built checkout, installed globally
 * (into a private npm prefix) with production dependencies only, from npm's cache when it has them, then
 * the README's commands exactly as written.
 */
describe('the packed package, installed without the repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-pack-'));
  const prefix = join(dir, 'prefix');
  const home = join(dir, 'work');
  const bin = join(prefix, 'bin', 'gatekit');
  const installed = join(prefix, 'lib', 'node_modules', ...NAME.split('/'));
  // Outside the checkout: no config or state of the person running the tests, no dev IdP login state.
  const { GATEKIT_CONFIG: _c, GATEKIT_HOME: _h, GATEKIT_AGENT: _a, CI: _ci, ...inherited } = process.env;
  const npmEnv = { ...inherited, npm_config_prefix: prefix, npm_config_update_notifier: 'false' };
  const env = { ...npmEnv, GATEKIT_HOME: join(home, 'state') };
  const onPath = { ...env, PATH: `${join(prefix, 'bin')}${delimiter}${process.env['PATH']}` };
  let install: Run;

  before(async () => {
    mkdirSync(prefix);
    mkdirSync(home);
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO);
    assert.equal(pack.code, 0, pack.stderr);
    const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
    // The README's line: npm install -g --ignore-scripts ./gatekit-dev-gatekit-VERSION.tgz
    install = await run(
      'npm',
      ['install', '-g', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(dir, filename!)],
      dir,
      npmEnv,
    );
    assert.equal(install.code, 0, install.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`installs as ${NAME} with the bin "gatekit", no devDependency, and no warning to act on`, () => {
    assert.ok(existsSync(bin), `${bin} is missing`);
    assert.equal(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).name, NAME);
    for (const dev of ['typescript', 'esbuild', '@modelcontextprotocol/server-everything', 'playwright-core']) {
      assert.ok(!existsSync(join(installed, 'node_modules', dev)), `${dev} was installed`);
    }
    assert.doesNotMatch(install.stderr, /EBADENGINE|install-scripts/, install.stderr);
  });

  it('gatekit --help and --version run from the installed package', async () => {
    const r = await run(bin, ['--help'], home, env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gatekit <command>/);
    const v = await run(bin, ['--version'], home, env);
    assert.equal(v.stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it("the README block runs as written: the example config with the package's own servers, init, dev --demo", async () => {
    const lines = readmeInstallBlock();
    const [mkdir, ...rest] = lines;
    assert.equal(mkdir, 'mkdir gatekit-try && cd gatekit-try');
    const setup = rest.filter((l) => !l.startsWith('gatekit '));
    const commands = rest.filter((l) => l.startsWith('gatekit ')).map((l) => l.replace(/\s+#.*$/, ''));
    assert.deepEqual(commands, ['gatekit init', 'gatekit dev --demo']);
    const sh = await run('sh', ['-c', [mkdir, ...setup].join('\n')], home, onPath);
    assert.equal(sh.code, 0, sh.stderr);
    const work = join(home, 'gatekit-try');
    const toml = readFileSync(join(work, 'gatekit.toml'), 'utf8');
    assert.doesNotMatch(toml, /"(node_modules|dist)\//, 'the config still names a path only the repository has');
    assert.match(toml, new RegExp(`"${installed}/dist/fixtures/servers/files\\.js"`));
    // Free ports, so that a person's own `npm start` (7400, 7401) does not collide with the test.
    writeFileSync(
      join(work, 'gatekit.toml'),
      toml
        .replace('127.0.0.1:7400', `127.0.0.1:${await freePort()}`)
        .replace('127.0.0.1:7401', `127.0.0.1:${await freePort()}`),
    );
    for (const command of commands) {
      const r = await run('sh', ['-c', command], work, onPath);
      assert.equal(r.code, 0, `${command}:\n${r.stderr}`);
      if (command.endsWith('--demo')) assert.match(r.stderr, /tools\/call through gatekit connect → echo: /);
    }
  });

  it('gatekit dev started by a path not on PATH says that path in its next steps, never npx', async (t) => {
    const work = join(home, 'gatekit-try');
    const child = spawn(bin, ['dev'], { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    const done = collect(child, { timeoutMs: 60_000 });
    await waitForStderr(child, /Ctrl-C stops it/, 30_000);
    child.kill('SIGINT');
    const r = await done;
    assert.match(
      r.stderr,
      new RegExp(`\\n {4}${bin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} broker login --resource everything\\n`),
    );
    assert.doesNotMatch(r.stderr, /npx/);
  });
});
