import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { approveDevice, startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { collect, gatekit, spawnGatekit, waitForStderr } from './helpers/cli.js';
import { DEVICE_PROMPT, deviceLoginCli } from './helpers/login.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

const DEVICE_GRANT = 'device_code';
const CALL = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } })}\n`;
const codes = (text: string) => new Set([...text.matchAll(/enter the code (\S+?)[,.\s]/g)].map((m) => m[1]));

/** Resolves with the bridge's first answer on stdout. */
function firstAnswer(child: ChildProcess): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('close', () => reject(new Error(`connect exited before answering: ${out}`)));
  });
}

describe('one login per person at a time', () => {
  let idp: DevIdp;
  const spaces: Workspace[] = [];
  const fresh = async () => {
    const ws = workspace(basicConfig(idp.issuer));
    spaces.push(ws);
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    return ws;
  };

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
  });
  after(async () => {
    await idp.close();
    for (const ws of spaces) ws.remove();
  });

  it('two concurrent broker login --flow device: one device code, both exit 0', async () => {
    const ws = await fresh();
    const grants = idp.counts[DEVICE_GRANT] ?? 0;
    const first = spawnGatekit(['broker', 'login', '--flow', 'device'], { env: ws.env });
    const firstDone = collect(first, { timeoutMs: 60_000 });
    const [, uri, code] = await waitForStderr(first, DEVICE_PROMPT);
    const second = spawnGatekit(['broker', 'login', '--flow', 'device'], { env: ws.env });
    const secondDone = collect(second, { timeoutMs: 30_000 });
    await waitForStderr(second, /in progress/);
    await approveDevice({ verification_uri: uri!, user_code: code! }, 'alice@example.com');
    const [a, b] = await Promise.all([firstDone, secondDone]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual([...codes(a.stderr + b.stderr)], [code], 'no second device code');
    assert.match(b.stderr, /Logged in as alice@example\.com/);
    assert.equal(idp.counts[DEVICE_GRANT], grants + 1, 'one device login at the provider');
    assert.ok(!readdirSync(ws.home).some((f) => f.endsWith('.device.json')), 'the shared prompt is removed when done');
  });

  it('two gatekit connect with an ended login: both calls are answered at once, with the same code', async (t) => {
    const ws = await fresh();
    assert.equal((await deviceLoginCli(ws, 'alice@example.com')).code, 0);
    await idp.revokeUser('alice@example.com');
    const a = spawnGatekit(['connect', 'notes'], { env: ws.env });
    const b = spawnGatekit(['connect', 'notes'], { env: ws.env });
    t.after(() => {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
    });
    const answerA = firstAnswer(a);
    a.stdin!.write(CALL);
    const textA = await answerA;
    const [codeA] = [...codes(textA)];
    assert.ok(codeA, textA);
    // The first bridge's login now holds the lock, waiting for the person; the second must not queue behind it.
    const answerB = firstAnswer(b);
    b.stdin!.write(CALL);
    const textB = await answerB;
    assert.match(textB, /"isError":true/);
    assert.deepEqual([...codes(textB)], [codeA]);
  });
});
