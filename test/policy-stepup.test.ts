import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { approveDevice, startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { gatekit, GATEKIT_BIN } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { workspace, type Workspace } from './helpers/workspace.js';
import { FILES_SERVER } from './helpers/files.js';

const text = (r: unknown) => (r as { content: Array<{ text?: string }> }).content[0]?.text ?? '';

describe('step-up: fresh_login through gatekit connect and the real daemon', () => {
  let idp: DevIdp;
  let ws: Workspace;
  let daemon: Daemon;
  // The daemon's rule clock (a process edge): an hour ahead makes the login an hour old.
  let ahead = 0;

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

[servers.fs]
command = ["${process.execPath}", "${FILES_SERVER}"]
allow_users = ["alice@example.com"]

[[servers.fs.rule]]
tools = ["delete_*"]
fresh_login = "5m"
`);
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    daemon = await startDaemon(loadConfig({ config: ws.config }), () => {}, { now: () => Date.now() + ahead });
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
  });
  after(async () => {
    await daemon.stop();
    await idp.close();
    ws.remove();
  });

  it('a stale login gets a device code in-band; once approved, the retried call works on the same session', async () => {
    ahead = 3600_000;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [GATEKIT_BIN, 'connect', 'fs'],
      env: { ...process.env, ...ws.env } as Record<string, string>,
      stderr: 'pipe',
    });
    let stderr = '';
    const loggedIn = new Promise<void>((resolve) =>
      transport.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('logged in again')) resolve();
      }),
    );
    const client = new Client({ name: 'stepup-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.equal(
        text(await client.callTool({ name: 'read_file', arguments: { path: '/srv/a' } })),
        'read_file /srv/a',
      );
      const refused = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/a' } });
      assert.equal(refused.isError, true);
      assert.match(text(refused), /servers\.fs\.rule\[0\]\.fresh_login/);
      const m = /open (\S+) and enter the code (\S+), then try again/.exec(text(refused));
      assert.ok(m, text(refused));
      // Other tools keep working on the old login while the step-up waits for the person.
      assert.equal(
        text(await client.callTool({ name: 'read_file', arguments: { path: '/srv/b' } })),
        'read_file /srv/b',
      );

      const url = new URL(m[1]!);
      ahead = 0; // the person logs in again, now
      await approveDevice({ verification_uri: `${url.origin}${url.pathname}`, user_code: m[2]! }, 'alice@example.com');
      await loggedIn;
      const retried = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/a' } });
      assert.equal(retried.isError, undefined, text(retried));
      assert.equal(text(retried), 'delete_file /srv/a');

      const audit = readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const denied = audit.filter((l) => l.event === 'denied' && l.rule === 'servers.fs.rule[0].fresh_login');
      assert.equal(denied.length, 1);
      const calls = audit.filter((l) => l.tool === 'delete_file' && l.outcome === 'ok');
      assert.equal(calls.length, 1);
      assert.equal(calls[0].session, denied[0].session, 'the same MCP session');
      assert.notEqual(calls[0].jti, denied[0].jti, 'the retried call carries a token minted after the new login');
      assert.ok(
        !readFileSync(join(ws.dir, 'audit.jsonl'), 'utf8').includes('/srv/a'),
        'arguments stay out of the audit log',
      );
    } finally {
      await client.close();
    }
  });
});
