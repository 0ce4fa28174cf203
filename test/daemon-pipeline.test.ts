import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { ServerConfig } from '../lib/config/index.js';
import type { DaemonState } from '../lib/daemon/state.js';
import { refuse } from '../lib/daemon/steps/edge.js';
import { gatekit } from './helpers/cli.js';
import {
  daemonConfig,
  JSON_HEADERS,
  INITIALIZE,
  NOTES_SERVER,
  raw,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { modernBody, modernHeaders } from './helpers/modern-client.js';

// "dead": a child that exits before it answers initialize. "strict": takes DPoP-bound tokens only.
const EXTRA = `
[servers.dead]
command = ["${process.execPath}", "-e", "process.exit(3)"]
allow_users = ["alice@example.com"]

[servers.strict]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com"]
token_binding = "dpop"
`;

describe('daemon: the steps and their one error edge', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(EXTRA));
  });
  after(() => h.close());

  it("a child dead before initialize: the table's 502, a JSON-RPC error, one audit line, not a bare 500", async () => {
    const token = await h.token('dead');
    const before = h.audit().length;
    const r = await raw(h.unix('dead'), 'POST', modernHeaders(token, 'tools/list'), modernBody(1, 'tools/list'));
    assert.equal(r.status, 502, r.body);
    assert.equal(JSON.parse(r.body).error.code, -32603);
    const lines = h.audit().slice(before);
    const refusals = lines.filter((l) => l['method'] === 'POST');
    assert.equal(refusals.length, 1, JSON.stringify(lines));
    assert.deepEqual(
      [refusals[0]!['event'], refusals[0]!['outcome'], refusals[0]!['era'], refusals[0]!['user']],
      ['request', 'error', 'stateless', 'alice@example.com'],
    );
    assert.ok(!JSON.stringify(lines).includes(token), 'the token never reaches the audit log');
  });

  it('token verify runs the daemon door: both refuse a bearer token for a token_binding = "dpop" server', async () => {
    const token = await h.token('strict');
    const headers = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const daemon = await raw(h.unix('strict'), 'POST', headers, INITIALIZE);
    assert.equal(daemon.status, 401);
    assert.match(String(daemon.headers['www-authenticate']), /^DPoP error="invalid_token"/);
    const cli = await gatekit(['token', 'verify', token, '--resource', 'strict'], { env: h.ws.env });
    assert.equal(cli.code, 1, cli.stderr);
    assert.equal(cli.stdout, '');
    assert.ok(!cli.stderr.includes(token), 'the token is never echoed');
    const taken = await gatekit(['token', 'verify', await h.token('notes')], { env: h.ws.env });
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(JSON.parse(taken.stdout)['aud'], h.config.servers.get('notes')!.resource, 'its server found from aud');
  });
});

describe('daemon: the error edge for a bug', () => {
  it("a bare JSON 500: the bug's message (it could quote a token) reaches no client, audit or stderr", async (t) => {
    const secret = 'eyJhbGciOiJFZERTQSJ9.bearer-secret.sig';
    const lines: Array<Record<string, unknown>> = [];
    const server = { name: 'notes' } as ServerConfig;
    const state = { audit: (line: Record<string, unknown>) => lines.push(line) } as unknown as DaemonState;
    const stderr: string[] = [];
    const write = process.stderr.write;
    t.after(() => {
      process.stderr.write = write;
    });
    const http = createServer((req, res) => {
      const ctx = { state, req, res, server, atDoor: false, verified: undefined, caller: undefined, era: undefined };
      process.stderr.write = ((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
      refuse(ctx, new TypeError(`cannot read\n    at ${secret}`));
      process.stderr.write = write;
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const { port } = http.address() as AddressInfo;
    const r = await request(`http://127.0.0.1:${port}/mcp`, { method: 'POST' });
    const body = await r.body.text();
    assert.equal(r.statusCode, 500);
    assert.deepEqual(JSON.parse(body).error, { code: -32603, message: 'internal error' });
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0]!['event'], lines[0]!['error']], ['request', 'internal error']);
    assert.ok(stderr.join('').includes('TypeError'), 'the kind of bug and its stack are on stderr');
    assert.ok(![body, JSON.stringify(lines), stderr.join('')].some((text) => text.includes(secret)));
  });
});
