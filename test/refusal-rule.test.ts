import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { gatekit } from './helpers/cli.js';
import { modernClient } from './helpers/modern-client.js';
import {
  daemonConfig,
  endSession,
  INITIALIZE,
  JSON_HEADERS,
  NOTES_SERVER,
  raw,
  sdkClient,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';

// Members a refused token holder must never learn from a refusal: people and groups of the server's lists.
const MEMBERS = ['alice@example.com', 'secret-member@example.com', 'hidden-team', 'ops'];
const GATED = `
[daemon.not_before]
"dave@example.com" = 2099-01-01T00:00:00Z

[servers.gated]
command = ["${process.execPath}", "${NOTES_SERVER}"]
allow_users = ["alice@example.com", "secret-member@example.com", "dave@example.com"]
allow_groups = ["hidden-team", "ops"]
tools = { allow = ["echo", "whoami", "env", "list_notes", "read_note"], deny = ["env"] }

[[servers.gated.grant]]
groups = ["ops"]
tools = { allow = ["write_note"], deny = ["whoami"] }

[[servers.gated.rule]]
tools = ["list_notes"]
rate = "1/h"

[[servers.gated.rule]]
tools = ["read_note"]
fresh_login = "5m"
`;

/** A word of `text` that names a member of a list (whole words: "ops" is no member inside "stops"). */
function leakedMember(text: string): string | undefined {
  return MEMBERS.find((m) => new RegExp(`(^|[^\\w.@-])${m.replace(/[.]/g, '\\.')}($|[^\\w.@-])`).test(text));
}

describe('a refusal names the rule (its config path) and the person, never the members of a list', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(GATED));
  });
  after(() => h.close());

  const client = async (t: TestContext, user: string, groups: string[] = [], scope?: string) => {
    const token = await h.token('gated', { user, groups, ...(scope ? { scope } : {}) });
    const c = await sdkClient(h, 'gated', token);
    t.after(() => endSession(c));
    return c;
  };
  const refusal = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, String(err));
    return err;
  };
  const deniedLine = (user: string, tool: string) =>
    h.audit().findLast((l) => l['event'] === 'denied' && l['user'] === user && l['tool'] === tool);

  it("tool gate: tools.allow, tools.deny, a grant's deny, the token scope, rate and step-up each name their rule", async (t) => {
    const alice = await client(t, 'alice@example.com');
    const bob = await client(t, 'bob@example.com', ['ops']);
    const narrow = await client(t, 'secret-member@example.com', [], 'tools:echo');
    const cases: Array<[c: typeof alice, user: string, tool: string, code: number, rule: string, message: string]> = [
      [
        alice,
        'alice@example.com',
        'write_note',
        -32003,
        'servers.gated.tools.allow',
        'servers.gated.tools.allow: tool "write_note" is not allowed',
      ],
      [
        alice,
        'alice@example.com',
        'env',
        -32003,
        'servers.gated.tools.deny',
        'servers.gated.tools.deny: tool "env" is denied',
      ],
      [
        bob,
        'bob@example.com',
        'whoami',
        -32003,
        'servers.gated.grant[0].tools.deny',
        'servers.gated.grant[0].tools.deny: tool "whoami" is denied',
      ],
      [
        narrow,
        'secret-member@example.com',
        'whoami',
        -32003,
        'servers.gated.tools.allow',
        'servers.gated.tools.allow: tool "whoami" is not allowed by this token\'s scope: get a new token',
      ],
    ];
    for (const [c, user, tool, code, rule, message] of cases) {
      const err = await refusal(c.callTool({ name: tool, arguments: {} }));
      assert.equal(err.code, code, tool);
      assert.equal((err.data as { rule?: string }).rule, rule, tool);
      assert.equal(err.message, `MCP error ${code}: ${message}`);
      const line = deniedLine(user, tool);
      assert.equal(line?.['rule'], rule, `the denied line of ${tool} names ${rule}`);
      assert.equal(line?.['error'], message);
    }
    // rate: the first call passes, the second is refused by the rule.
    await alice.callTool({ name: 'list_notes', arguments: {} });
    const rate = await refusal(alice.callTool({ name: 'list_notes', arguments: {} }));
    assert.equal(rate.code, -32005);
    assert.equal((rate.data as { rule: string }).rule, 'servers.gated.rule[0].rate');
    assert.equal(deniedLine('alice@example.com', 'list_notes')?.['rule'], 'servers.gated.rule[0].rate');
    // step-up: the harness's tokens carry no auth_time, so fresh_login refuses.
    const stale = await refusal(alice.callTool({ name: 'read_note', arguments: { name: 'welcome' } }));
    assert.equal((stale.data as { rule: string }).rule, 'servers.gated.rule[1].fresh_login');
    assert.equal(deniedLine('alice@example.com', 'read_note')?.['rule'], 'servers.gated.rule[1].fresh_login');
  });

  it('a 2026-07-28 tools/call refused by the gate names its rule too', async (t) => {
    const c = await modernClient(h, 'gated', await h.token('gated', { user: 'alice@example.com' }));
    t.after(() => c.close());
    const err = (await c.callTool({ name: 'env', arguments: {} }).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    )) as { code?: number; data?: { rule?: string }; message?: string };
    assert.equal(err.code, -32003, String(err.message));
    assert.equal(err.data?.rule, 'servers.gated.tools.deny');
    const line = h.audit().findLast((l) => l['event'] === 'denied' && l['era'] === 'stateless' && l['tool'] === 'env');
    assert.equal(line?.['rule'], 'servers.gated.tools.deny');
    assert.equal(line?.['user'], 'alice@example.com');
  });

  it("carol's 403 at the door names the rule and carol in the audit line, never the list's members", async () => {
    const token = await h.token('gated', { user: 'carol@example.com', groups: ['eng', 'sales'] });
    const r = await raw(h.unix('gated'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(r.status, 403);
    const body = JSON.parse(r.body) as { error: { code: number; message: string; data?: { rule?: string } } };
    assert.equal(body.error.data?.rule, 'servers.gated.allow_groups');
    assert.equal(
      body.error.message,
      'denied by policy: carol@example.com (groups [eng, sales]) is not admitted by servers.gated.allow_users ' +
        'and none of their groups by servers.gated.allow_groups',
    );
    const www = String(r.headers['www-authenticate']);
    assert.match(www, /^Bearer error="insufficient_scope"/);
    for (const text of [r.body, www]) assert.equal(leakedMember(text), undefined, `a member leaked into ${text}`);
    const line = h.audit().findLast((l) => l['event'] === 'denied' && l['server'] === 'gated' && !l['tool']);
    assert.equal(line?.['user'], 'carol@example.com');
    assert.equal(line?.['sub'], 'sub-carol@example.com');
    assert.equal(typeof line?.['jti'], 'string');
    assert.equal(line?.['rule'], 'servers.gated.allow_groups');
    assert.equal(leakedMember(String(line?.['error'])), undefined);
    // What the README promises: the person's refusals are found by their name.
    const tail = await gatekit(['audit', 'tail', join(h.ws.dir, 'audit.jsonl'), '--user', 'carol@example.com']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /denied +carol@example\.com +gated +POST +denied/);
  });

  it('a verified token revoked by [daemon.not_before] is refused naming the rule and the person', async () => {
    const token = await h.token('gated', { user: 'dave@example.com' });
    const r = await raw(h.unix('gated'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(r.status, 401);
    assert.equal((JSON.parse(r.body) as { error: { data?: { rule?: string } } }).error.data?.rule, 'daemon.not_before');
    const line = h.audit().findLast((l) => l['event'] === 'auth.failed' && l['server'] === 'gated');
    assert.equal(line?.['user'], 'dave@example.com');
    assert.equal(line?.['sub'], 'sub-dave@example.com');
    assert.equal(line?.['rule'], 'daemon.not_before');
  });

  it("a token that does not verify names nobody: a forged holder cannot write a line in someone else's name", async () => {
    const token = await h.token('gated', { user: 'alice@example.com' });
    const [head, payload] = token.split('.');
    const forged = `${head}.${payload}.${'A'.repeat(86)}`;
    const r = await raw(h.unix('gated'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${forged}` }, INITIALIZE);
    assert.equal(r.status, 401);
    const line = h.audit().findLast((l) => l['event'] === 'auth.failed' && l['server'] === 'gated');
    assert.equal(line?.['user'], undefined);
    assert.equal(line?.['sub'], undefined);
  });
});
