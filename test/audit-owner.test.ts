import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon } from '../lib/daemon/index.js';
import { initialize } from '../lib/setup/index.js';
import { daemonConfig, INITIALIZE, JSON_HEADERS, raw, startHarness } from './helpers/daemon-harness.js';
import { runAsOtherUser, skipUnlessOtherUser, skipUnlessRoot, type OtherUser } from './helpers/other-user.js';
import { workspace } from './helpers/workspace.js';

const LOGS = 'logs/audit.jsonl';
const withLogs = async () => (await daemonConfig()).replace('audit_log = "audit.jsonl"', `audit_log = "${LOGS}"`);

/** A workspace whose audit directory group nobody may write (0775 root:nobody): not world-writable. */
async function workspaceWithLogs(t: TestContext, user?: OtherUser) {
  const ws = workspace(await withLogs());
  t.after(() => ws.remove());
  chmodSync(ws.dir, 0o755);
  const logs = join(ws.dir, 'logs');
  mkdirSync(logs, { mode: 0o755 });
  if (user) {
    chownSync(logs, 0, user.gid);
    chmodSync(logs, 0o775);
  }
  return { ws, logs, file: join(ws.dir, LOGS) };
}

/** The other user creates the audit log's path first: an empty file of theirs, 0644. */
async function plant(user: OtherUser, file: string): Promise<void> {
  const r = await runAsOtherUser(
    user,
    `import { writeFileSync } from 'node:fs'; writeFileSync(process.argv[1], '', { mode: 0o644 });`,
    [file],
  );
  assert.equal(r.code, 0, r.stderr);
}

async function startRefused(dir: string, pattern: RegExp): Promise<void> {
  const config = loadConfig({ config: join(dir, 'gatekit.toml') });
  await initialize(config, { force: false });
  await assert.rejects(
    startDaemon(config, () => {}),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('an audit log (or its directory) another user owns or may write is refused', () => {
  it('at start: a log another user (uid nobody) created first at the path', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const { ws, file } = await workspaceWithLogs(t, user);
    await plant(user, file);
    await startRefused(ws.dir, new RegExp(`audit log ${file}: it is owned by uid ${user.uid}`));
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written to their file');
  });

  it('at start: a log chowned to nobody, and a log writable by others', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const { ws, file } = await workspaceWithLogs(t);
    writeFileSync(file, '', { mode: 0o600 });
    chownSync(file, 65534, 65534);
    await startRefused(ws.dir, /owned by uid 65534/);
    chownSync(file, 0, 0);
    chmodSync(file, 0o666);
    await startRefused(ws.dir, /writable by group or others \(mode 0666\)/);
  });

  it('at start: a log directory with mode 0777 (or 1777)', async (t) => {
    const { ws, logs } = await workspaceWithLogs(t);
    chmodSync(logs, 0o777);
    await startRefused(ws.dir, /its directory .*logs is writable by others \(mode 0777\)/);
    chmodSync(logs, 0o1777);
    await startRefused(ws.dir, /writable by others \(mode 1777\)/);
  });

  it('on SIGHUP: a rotated log whose path nobody took meanwhile is refused; the daemon keeps its own file', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const { ws, file } = await workspaceWithLogs(t, user);
    const h = await startHarness(readFileSync(ws.config, 'utf8').replaceAll('logs/', `${join(ws.dir, 'logs')}/`));
    t.after(() => h.close());
    renameSync(file, `${file}.1`);
    await plant(user, file);
    await assert.rejects(h.daemon.reload(), { code: 'CONFIG_INVALID' });
    const r = await raw(
      h.unix('notes'),
      'POST',
      { ...JSON_HEADERS, authorization: `Bearer ${await h.token('notes')}` },
      INITIALIZE,
    );
    assert.equal(r.status, 200, r.body);
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written to their file');
    assert.match(readFileSync(`${file}.1`, 'utf8'), /"event":"session.start"|"method":"initialize"/);
  });

  it('on recreate: a removed log whose path nobody took is refused, and the daemon fails closed (503)', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const { ws, file } = await workspaceWithLogs(t, user);
    const h = await startHarness(readFileSync(ws.config, 'utf8').replaceAll('logs/', `${join(ws.dir, 'logs')}/`));
    t.after(() => h.close());
    rmSync(file);
    await plant(user, file);
    const token = await h.token('notes');
    const first = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    const second = await raw(
      h.unix('notes'),
      'POST',
      { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      INITIALIZE,
    );
    assert.equal(second.status, 503, `${first.status} then ${second.status}: ${second.body}`);
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written to their file');
  });
});
