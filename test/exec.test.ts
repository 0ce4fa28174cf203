import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { collect, gatekit, GATEKIT_BIN, spawnGatekit } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

/** A command for `gatekit exec` to run: reports what it sees, asks for a token, exits 7. */
const SCRIPT = `
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
const agent = process.env.GATEKIT_AGENT;
const token = execFileSync(process.execPath, [${JSON.stringify(GATEKIT_BIN)}, 'broker', 'token', '--resource', 'notes'], { encoding: 'utf8' }).trim();
console.log(JSON.stringify({ agent, dir: dirname(agent), mode: statSync(agent).mode & 0o777, dirMode: statSync(dirname(agent)).mode & 0o777, token }));
process.exit(7);
`;

/** Waits for SIGINT, reports it, exits 42. */
const SIGNAL_SCRIPT = `
process.on('SIGINT', () => { console.log('got SIGINT'); process.exit(42) });
console.log('ready');
setInterval(() => {}, 1000);
`;

describe('gatekit exec', () => {
  let idp: DevIdp;
  let ws: Workspace;

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(basicConfig(idp.issuer, '\n[servers.ops]\ncommand = ["node", "ops.js"]\nallow_groups = ["ops"]\n'));
    writeFileSync(join(ws.dir, 'script.mjs'), SCRIPT);
    writeFileSync(join(ws.dir, 'wait-signal.mjs'), SIGNAL_SCRIPT);
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
  });
  after(async () => {
    await idp.close();
    ws.remove();
  });

  it('without a login and without a terminal: exit 3 and the command never runs', async () => {
    const r = await gatekit(['exec', '--', process.execPath, '-e', 'console.log("ran")'], { env: ws.env });
    assert.equal(r.code, 3, r.stderr);
    assert.doesNotMatch(r.stdout, /ran/);
  });

  it('runs the command with a private agent: broker token inside gets a token from it; exit code passes through; nothing left', async () => {
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    const r = await gatekit(['exec', '--', process.execPath, join(ws.dir, 'script.mjs')], { env: ws.env });
    assert.equal(r.code, 7, r.stderr);
    const seen = JSON.parse(r.stdout);
    assert.equal(seen.mode, 0o600, 'agent socket 0600');
    assert.equal(seen.dirMode, 0o700, 'agent directory 0700');
    assert.equal(existsSync(seen.dir), false, 'agent directory removed');
    const verified = await gatekit(['token', 'verify', seen.token, '--resource', 'notes'], { env: ws.env });
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(JSON.parse(verified.stdout).email, 'alice@example.com');
  });

  it('the agent really answers: a token for a refused server comes back as exit 4 through it', async () => {
    const script = join(ws.dir, 'refused.mjs');
    writeFileSync(script, SCRIPT.replace("'notes'", "'ops'").replace('process.exit(7)', ''));
    const r = await gatekit(['exec', '--', process.execPath, script], { env: ws.env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /servers\.ops\.allow_groups/);
  });

  it("forwards SIGINT when stdin is not a terminal, and returns the command's code", async () => {
    const child = spawnGatekit(['exec', '--', process.execPath, join(ws.dir, 'wait-signal.mjs')], { env: ws.env });
    const done = collect(child);
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      }),
    );
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 42, r.stderr);
    assert.match(r.stdout, /got SIGINT/);
  });

  it('a command that does not exist: exit 127 with one line', async () => {
    const r = await gatekit(['exec', '--', 'gatekit-no-such-command'], { env: ws.env });
    assert.equal(r.code, 127);
    assert.match(r.stderr, /command not found: gatekit-no-such-command/);
  });
});
