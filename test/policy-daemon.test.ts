import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { mintAccessToken } from '../lib/token/index.js';
import { FILES_SERVER } from './helpers/files.js';
import {
  BROKER_ISSUER,
  daemonConfig,
  endSession,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

const WRITE_SCHEMA = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  required: ['path', 'text'],
  properties: { path: { type: 'string' }, text: { type: 'string', maxLength: 100 } },
});

const FS_RULES = `
[servers.fs]
command = ["${process.execPath}", "${FILES_SERVER}"]
allow_groups = ["eng", "ops"]

[[servers.fs.rule]]
tools = ["read_file", "write_file", "delete_file"]
args = { path = { path_under = ["/srv/shared"] } }

[[servers.fs.rule]]
tools = ["write_*"]
schema = '${WRITE_SCHEMA}'

[[servers.fs.rule]]
tools = ["list_dir"]
args = { path = { pattern = "/srv/shared/*" }, sort = { enum = ["name", "size"] } }
rate = "3/h"

[[servers.fs.rule]]
tools = ["delete_*"]
fresh_login = "5m"

[[servers.fs.rule]]
tools = ["write_file"]
groups = ["eng"]
args = { path = { max_length = 40 } }
`;

describe('policy rules through the daemon with the SDK client', () => {
  let h: Harness;
  const connect = async (t: TestContext, user: string, groups: string[], authTime?: number) => {
    const { token } = await mintAccessToken(h.key, {
      identity: { user, sub: `sub-${user}`, groups, ...(authTime === undefined ? {} : { auth_time: authTime }) },
      issuer: BROKER_ISSUER,
      resource: 'urn:gatekit:server:fs',
      scope: 'tools:*',
      clientId: 'gatekit-cli',
      userClaim: 'email',
      ttl: 300,
    });
    const client = await sdkClient(h, 'fs', token);
    t.after(() => endSession(client));
    return client;
  };
  const call = (client: Client, name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args });
  const refused = async (promise: Promise<unknown>, code: number, rule: string) => {
    const err = await promise.then(
      () => assert.fail(`expected ${rule} to refuse`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, String(err));
    assert.equal(err.code, code);
    assert.equal((err.data as { rule: string }).rule, rule);
    return err;
  };
  const received = async (client: Client) =>
    JSON.parse(((await call(client, 'received', {})) as { content: Array<{ text: string }> }).content[0]!.text);

  before(async () => {
    h = await startHarness(await daemonConfig(FS_RULES));
  });
  after(async () => {
    await h.close();
  });

  it('path_under: only paths under /srv/shared pass; ../, /srv/shared2, ~, NUL, 100 kB, non-strings', async (t) => {
    const client = await connect(t, 'erin@example.com', ['eng']);
    for (const path of ['/srv/shared', '/srv/shared/a.txt', '/srv/shared//b/./c/', '/srv/shared/dir/']) {
      await call(client, 'read_file', { path });
    }
    const rule = 'servers.fs.rule[0].args.path.path_under';
    const hostile: unknown[] = [
      '/srv/shared/../../etc/passwd',
      '/srv/shared/..',
      '/srv/shared2/x',
      '/srv/shared2',
      '/srv',
      'srv/shared/x',
      './x',
      '~/x',
      '~root/.ssh/id_rsa',
      '/srv/shared/a\0/../../etc',
      `/srv/shared/${'a'.repeat(100_000)}`,
      42,
      null,
      true,
      ['/srv/shared/a'],
      { path: '/srv/shared/a' },
      '',
      'file:///srv/shared/a',
      '\\srv\\shared\\a',
    ];
    for (const path of hostile) await refused(call(client, 'read_file', { path }), -32003, rule);
    await refused(call(client, 'read_file', {}), -32003, 'servers.fs.rule[0].args.path');
    assert.deepEqual(await received(client), { read_file: 4 });

    const lines = h.audit().filter((l) => l['event'] === 'denied' && l['rule'] === rule);
    assert.equal(lines.length, hostile.length);
    assert.ok(lines.every((l) => l['tool'] === 'read_file' && l['user'] === 'erin@example.com'));
    const log = readFileSync(join(h.ws.dir, 'audit.jsonl'), 'utf8');
    assert.ok(
      !log.includes('passwd') && !log.includes('aaaaaaaaaa') && !log.includes('id_rsa'),
      'arguments stay out of the audit log',
    );
  });

  it('schema: extra properties, wrong types and a too-long text are refused; a good call passes', async (t) => {
    const client = await connect(t, 'olga@example.com', ['ops']);
    await call(client, 'write_file', { path: '/srv/shared/a', text: 'hello' });
    const rule = 'servers.fs.rule[1].schema';
    await refused(call(client, 'write_file', { path: '/srv/shared/a', text: 'x'.repeat(101) }), -32003, rule);
    await refused(call(client, 'write_file', { path: '/srv/shared/a', text: 5 }), -32003, rule);
    await refused(call(client, 'write_file', { path: '/srv/shared/a' }), -32003, rule);
    await refused(call(client, 'write_file', { path: '/srv/shared/a', text: 'x', mode: '0777' }), -32003, rule);
    // The path rule comes first: both apply, and the first one broken is named.
    await refused(
      call(client, 'write_file', { path: '/etc/passwd', text: 'x' }),
      -32003,
      'servers.fs.rule[0].args.path.path_under',
    );
    assert.deepEqual(await received(client), { write_file: 1 });
  });

  it('pattern and enum: a glob, not a regular expression, and exact values only', async (t) => {
    const client = await connect(t, 'pat@example.com', ['ops']);
    await call(client, 'list_dir', { path: '/srv/shared/docs', sort: 'name' });
    await refused(
      call(client, 'list_dir', { path: '/srv/other', sort: 'name' }),
      -32003,
      'servers.fs.rule[2].args.path.pattern',
    );
    await refused(call(client, 'list_dir', { path: 7, sort: 'name' }), -32003, 'servers.fs.rule[2].args.path.pattern');
    await refused(
      call(client, 'list_dir', { path: '/srv/shared/x', sort: 'Name' }),
      -32003,
      'servers.fs.rule[2].args.sort.enum',
    );
    await refused(
      call(client, 'list_dir', { path: '/srv/shared/x', sort: ['name'] }),
      -32003,
      'servers.fs.rule[2].args.sort.enum',
    );
    // A hostile 100 kB string against the glob costs linear time and is judged like any other.
    await refused(
      call(client, 'list_dir', { path: `/srv/x${'/'.repeat(100_000)}`, sort: 'size' }),
      -32003,
      'servers.fs.rule[2].args.path.pattern',
    );
    assert.deepEqual(await received(client), { list_dir: 1 });
  });

  it('rate: per person and tool; the call over the limit says when to retry; refused calls do not count', async (t) => {
    const client = await connect(t, 'rita@example.com', ['ops']);
    const other = await connect(t, 'sam@example.com', ['ops']);
    await refused(
      call(client, 'list_dir', { path: '/srv/other', sort: 'name' }),
      -32003,
      'servers.fs.rule[2].args.path.pattern',
    );
    for (let i = 0; i < 3; i++) await call(client, 'list_dir', { path: '/srv/shared/a', sort: 'name' });
    const err = await refused(
      call(client, 'list_dir', { path: '/srv/shared/a', sort: 'name' }),
      -32005,
      'servers.fs.rule[2].rate',
    );
    const retry = (err.data as { retry_after: number }).retry_after;
    assert.ok(retry > 0 && retry <= 1200, `retry_after ${retry}`);
    await call(other, 'list_dir', { path: '/srv/shared/a', sort: 'name' });
    assert.deepEqual(await received(client), { list_dir: 3 });
    assert.ok(h.audit().some((l) => l['event'] === 'denied' && l['rule'] === 'servers.fs.rule[2].rate'));
  });

  it('fresh_login: a login older than 5 minutes, or of unknown age, gets the step-up answer', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const stale = await connect(t, 'dora@example.com', ['ops'], now - 600);
    const unknown = await connect(t, 'dora@example.com', ['ops']);
    const fresh = await connect(t, 'dora@example.com', ['ops'], now);
    for (const client of [stale, unknown]) {
      const err = await refused(
        call(client, 'delete_file', { path: '/srv/shared/a' }),
        -32003,
        'servers.fs.rule[3].fresh_login',
      );
      assert.equal((err.data as { error: string }).error, 'insufficient_user_authentication');
      assert.equal((err.data as { max_age: number }).max_age, 300);
    }
    await call(stale, 'read_file', { path: '/srv/shared/a' });
    await call(fresh, 'delete_file', { path: '/srv/shared/a' });
  });

  it('a rule for a group applies to that group only', async (t) => {
    const eng = await connect(t, 'eve@example.com', ['eng']);
    const ops = await connect(t, 'otto@example.com', ['ops']);
    const path = `/srv/shared/${'d'.repeat(60)}`;
    await refused(call(eng, 'write_file', { path, text: 'x' }), -32003, 'servers.fs.rule[4].args.path.max_length');
    await call(ops, 'write_file', { path, text: 'x' });
  });
});
