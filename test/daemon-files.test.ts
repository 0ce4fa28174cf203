import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Agent } from 'undici';
import { AuditLog, MAX_FIELD_LENGTH } from '../lib/audit/index.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon } from '../lib/daemon/index.js';
import { initialize } from '../lib/setup/index.js';
import { gatekit } from './helpers/cli.js';
import { INITIALIZE, JSON_HEADERS, NOTES_SERVER, raw, startHarness } from './helpers/daemon-harness.js';
import { workspace, type Workspace } from './helpers/workspace.js';

const config = (listen = 'unix:run/notes.sock', daemonExtra = '') => `[broker]
issuer = "urn:gatekit:broker:test"

[daemon]
audit_log = "audit.jsonl"
${daemonExtra}

[servers.notes]
command = ["${process.execPath}", "${NOTES_SERVER}"]
listen = "${listen}"
allow_users = ["alice@example.com"]
`;

async function setUp(t: TestContext, text: string): Promise<Workspace> {
  const ws = workspace(text);
  t.after(() => ws.remove());
  await initialize(loadConfig({ config: ws.config }), { force: false });
  return ws;
}

describe('daemon: files it creates or refuses', () => {
  it("refuses to start when the audit log path is a symbolic link, and leaves the link's target alone", async (t) => {
    const ws = await setUp(t, config());
    const target = join(ws.dir, 'elsewhere.txt');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(ws.dir, 'audit.jsonl'));
    const run = await gatekit(['daemon'], { env: ws.env });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /audit log .*symbolic link/);
    assert.equal(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('gatekit:')).length,
      1,
    );
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  });

  it('refuses a dangling symbolic link too (it would create the file elsewhere)', async (t) => {
    const ws = await setUp(t, config());
    symlinkSync(join(ws.dir, 'not-yet.txt'), join(ws.dir, 'audit.jsonl'));
    await assert.rejects(startDaemon(loadConfig({ config: ws.config })), { code: 'CONFIG_INVALID' });
    assert.throws(() => statSync(join(ws.dir, 'not-yet.txt')), { code: 'ENOENT' });
  });

  it('creates the audit log 0600, or 0640 with a socket group, whatever the umask', async (t) => {
    for (const [extra, mode] of [
      ['', 0o600],
      [`socket_group = "${process.getgid!()}"`, 0o640],
    ] as const) {
      // The config is written under the usual umask: one others could write would be refused (config/trust).
      const ws = await setUp(t, config('unix:run/notes.sock', extra));
      const loaded = loadConfig({ config: ws.config });
      const previous = process.umask(0);
      const daemon = await startDaemon(loaded).finally(() => process.umask(previous));
      await daemon.stop();
      assert.equal(statSync(join(ws.dir, 'audit.jsonl')).mode & 0o777, mode);
    }
  });

  it('caps every string field of an audit line, so a hostile method cannot bloat it', async (t) => {
    const ws = await setUp(t, config());
    const path = join(ws.dir, 'direct.jsonl');
    const log = new AuditLog(path);
    const nested = { deep: 'd'.repeat(5000) };
    log.write({ event: 'request', method: 'm'.repeat(100_000), tool: 't'.repeat(600), error: 'short', nested });
    log.close();
    const line = JSON.parse(readFileSync(path, 'utf8'));
    for (const value of [line.method, line.tool, line.nested.deep]) {
      assert.ok(value.length < MAX_FIELD_LENGTH + 40, `capped: ${value.length}`);
      assert.match(value, /…\[\d+ more chars\]$/);
    }
    assert.equal(line.error, 'short');
  });

  it('a 100,000-character JSON-RPC method through the daemon leaves a short audit line', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    const token = await h.token('notes');
    const auth = { authorization: `Bearer ${token}` };
    const opened = await raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, ...auth }, INITIALIZE);
    const session = String(opened.headers['mcp-session-id']);
    const method = 'x'.repeat(100_000);
    const r = await raw(
      h.unix('notes'),
      'POST',
      { ...JSON_HEADERS, ...auth, 'mcp-session-id': session },
      JSON.stringify({ jsonrpc: '2.0', id: 9, method }),
    );
    assert.equal(JSON.parse(r.body).error.code, -32601); // the server's own "method not found"
    await raw(h.unix('notes'), 'DELETE', { ...auth, 'mcp-session-id': session });
    const text = readFileSync(join(h.ws.dir, 'audit.jsonl'), 'utf8');
    for (const line of text.split('\n')) assert.ok(line.length < 4 * MAX_FIELD_LENGTH, `line of ${line.length} chars`);
    assert.ok(h.audit().some((l) => l['rpc_id'] === 9 && String(l['method']).startsWith('xxx')));
  });

  it('listen = "unix:FILE" never deletes a regular file or follows a link there: refused', async (t) => {
    const ws = await setUp(t, config('unix:data.txt'));
    const file = join(ws.dir, 'data.txt');
    writeFileSync(file, "someone's data\n");
    await assert.rejects(startDaemon(loadConfig({ config: ws.config })), { code: 'CONFIG_INVALID' });
    assert.equal(readFileSync(file, 'utf8'), "someone's data\n");
    const run = await gatekit(['daemon'], { env: ws.env });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /not a socket/);
    assert.equal(readFileSync(file, 'utf8'), "someone's data\n");

    const linked = await setUp(t, config('unix:link.sock'));
    const target = join(linked.dir, 'target.txt');
    writeFileSync(target, 'kept\n');
    symlinkSync(target, join(linked.dir, 'link.sock'));
    await assert.rejects(startDaemon(loadConfig({ config: linked.config })), { code: 'CONFIG_INVALID' });
    assert.ok(lstatSync(join(linked.dir, 'link.sock')).isSymbolicLink());
  });

  it('a stale socket left by a dead daemon is still replaced', async (t) => {
    const ws = await setUp(t, config('unix:stale.sock'));
    const path = join(ws.dir, 'stale.sock');
    // A process killed while listening leaves its socket file behind, as a crashed daemon does.
    const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`;
    const holder = spawn(process.execPath, ['-e', script]);
    await once(holder.stdout, 'data');
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    assert.ok(lstatSync(path).isSocket());
    const daemon = await startDaemon(loadConfig({ config: ws.config }));
    t.after(() => daemon.stop());
    const agent = new Agent({ connect: { socketPath: path } });
    t.after(() => agent.close());
    const r = await raw(agent, 'GET', {}, undefined, '/healthz');
    assert.equal(r.status, 200);
  });
});
