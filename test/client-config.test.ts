import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { gatekit } from './helpers/cli.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const run = promisify(execFile);

describe('client-config', () => {
  const ws = workspace(basicConfig('http://127.0.0.1:7499'));
  after(() => ws.remove());

  it('json: an mcpServers entry whose command really starts gatekit connect for that server and config', async () => {
    const r = await gatekit(['client-config', 'json', 'notes'], { env: ws.env });
    assert.equal(r.code, 0, r.stderr);
    const entry = JSON.parse(r.stdout).mcpServers.notes;
    assert.equal(entry.command, process.execPath);
    assert.deepEqual(entry.args.slice(1), ['connect', 'notes', '--config', ws.config]);
    const help = await run(entry.command, [entry.args[0], 'connect', '--help']);
    assert.match(help.stdout, /gatekit connect <name>/);
  });

  it('claude: one "claude mcp add" command, shell-quoted', async () => {
    const r = await gatekit(['client-config', 'claude', 'notes'], { env: ws.env });
    assert.match(r.stdout, /^claude mcp add --scope user notes -- \S+ \S+ connect notes --config \S+\n$/);
  });

  it('vscode and cursor: the JSON they expect', async () => {
    const vscode = (await gatekit(['client-config', 'vscode', 'notes'], { env: ws.env })).stdout;
    const json = JSON.parse(/^code --add-mcp '(.*)'\n$/.exec(vscode)![1]!);
    assert.equal(json.name, 'notes');
    assert.equal(json.type, 'stdio');
    const cursor = (await gatekit(['client-config', 'cursor', 'notes'], { env: ws.env })).stdout;
    const link = /cursor:\/\/anysphere\.cursor-deeplink\/mcp\/install\?name=notes&config=(\S+)/.exec(cursor)!;
    assert.deepEqual(JSON.parse(Buffer.from(decodeURIComponent(link[1]!), 'base64').toString()).args.slice(1, 3), [
      'connect',
      'notes',
    ]);
  });

  it('an unknown server or client is a usage error naming the choices', async () => {
    const server = await gatekit(['client-config', 'claude', 'nope'], { env: ws.env });
    assert.equal(server.code, 2);
    assert.match(server.stderr, /no server "nope".*\n.*notes, fs/);
    const client = await gatekit(['client-config', 'emacs', 'notes'], { env: ws.env });
    assert.equal(client.code, 2);
    assert.match(client.stderr, /claude/);
  });
});
