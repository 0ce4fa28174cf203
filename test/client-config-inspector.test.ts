import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit } from './helpers/cli.js';
import { NOTES_SERVER } from './helpers/daemon-harness.js';
import { deviceLoginCli } from './helpers/login.js';
import { workspace, type Workspace } from './helpers/workspace.js';

/** The Inspector the test runs: from npx's cache when a version is there (no download in the suite). */
const INSPECTOR = process.env['GATEKIT_TEST_INSPECTOR'] ?? '@modelcontextprotocol/inspector@2.12.0';

function sh(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('sh', ['-c', line], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('client-config inspector: the MCP Inspector CLI line, run as printed', () => {
  let idp: DevIdp;
  let ws: Workspace;
  let daemon: Daemon;
  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    ws = workspace(`[idp]
issuer = "${idp.issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
issuer = "urn:gatekit:broker:test"

[daemon]
audit_log = "audit.jsonl"

[servers.notes]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com"]
`);
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    daemon = await startDaemon(loadConfig({ config: ws.config }));
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
  });
  after(async () => {
    await daemon.stop();
    await idp.close();
    ws.remove();
  });

  it('passes the config (and a GATEKIT_HOME that is set) with -e, so no flag of the bridge reaches the Inspector', async () => {
    const r = await gatekit(['client-config', 'inspector', 'notes'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^npx -y @modelcontextprotocol/inspector --cli -e GATEKIT_CONFIG=${ws.config} -e GATEKIT_HOME=${ws.home} \\S+ \\S+ connect notes --method tools/list\\n$`,
      ),
    );
  });

  it('lists the tools through gatekit connect and the daemon', async (t) => {
    const printed = (await gatekit(['client-config', 'inspector', 'notes'], { env: ws.env })).stdout.trim();
    // No GATEKIT_CONFIG of ours: the line itself must carry it.
    const { GATEKIT_CONFIG: _c, CI: _ci, ...inherited } = process.env;
    const env = {
      ...inherited,
      GATEKIT_HOME: ws.home,
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    };
    const r = await sh(printed.replace('@modelcontextprotocol/inspector ', `${INSPECTOR} `), env);
    if (r.code !== 0 && /E404|ENOTCACHED|EAI_AGAIN|ENOTFOUND|ECONNREFUSED/.test(r.stderr)) {
      t.skip(
        `the MCP Inspector (${INSPECTOR}) is neither in npx's cache nor downloadable here: ${r.stderr.split('\n').find((l) => /ERR|error/i.test(l)) ?? ''}`,
      );
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    const names = (JSON.parse(r.stdout) as { tools: Array<{ name: string }> }).tools.map((tool) => tool.name);
    assert.ok(names.includes('echo'), names.join(' '));
  });
});
