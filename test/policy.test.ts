import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type Config } from '../lib/config/index.js';
import { authorize, evaluate, isToolAllowed, scopeFor, toolPatternsOf } from '../lib/policy/index.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

// notes (test/helpers/workspace.ts): allow_users alice, allow_groups ops, tools read_* list_* minus read_secret*,
// and a grant of write_* to ops. fs: allow_groups eng, every tool. open: anyone, no delete_*; bob also no *_admin.
const EXTRA = `
[daemon.not_before]
"alice@example.com" = 2026-06-01T00:00:00Z
"sub-erin" = 2026-06-01T00:00:00Z

[servers.open]
command = ["node", "open.js"]
allow_users = ["*"]
tools = { deny = ["delete_*"] }

[[servers.open.grant]]
users = ["bob@example.com"]
tools = { allow = ["*"], deny = ["*_admin"] }
`;

let ws: Workspace;
let config: Config;
before(() => {
  ws = workspace(basicConfig('https://idp.example.com', EXTRA));
  config = loadConfig({ config: ws.config, env: ws.env });
});
after(() => ws.remove());
const server = (name: string) => config.servers.get(name)!;

type Person = [user: string, groups: string[]];
const ALICE: Person = ['alice@example.com', []];
const BOB_OPS: Person = ['bob@example.com', ['ops']];
const CAROL_ENG: Person = ['carol@example.com', ['eng']];

describe('policy: who may use a server (admission)', () => {
  const TABLE: Array<[server: string, person: Person, admitted: string | false]> = [
    ['notes', ALICE, 'servers.notes.allow_users'],
    ['notes', BOB_OPS, 'servers.notes.allow_groups (ops)'],
    ['notes', CAROL_ENG, false],
    ['fs', CAROL_ENG, 'servers.fs.allow_groups (eng)'],
    ['fs', ALICE, false],
    ['open', ['anyone@example.com', []], 'servers.open.allow_users'],
    // hostile look-alikes: matching is exact, case and whitespace included; "*" is only a wildcard in the config
    ['notes', ['ALICE@example.com', []], false],
    ['notes', ['alice@example.com ', []], false],
    ['notes', ['mallory@example.com', ['ops ', 'OPS', 'eng,ops']], false],
    ['notes', ['*', ['*']], false],
    ['notes', ['', []], false],
  ];
  for (const [name, [user, groups], admitted] of TABLE) {
    it(`${name}: ${JSON.stringify(user)} in ${JSON.stringify(groups)} → ${admitted || 'denied'}`, () => {
      const decision = evaluate({ user, groups }, server(name));
      assert.equal(decision.allowed, admitted !== false);
      if (decision.allowed) assert.equal(decision.rule, admitted);
      else assert.match(decision.reason, new RegExp(`servers\\.${name}\\.allow_users`));
    });
  }
});

describe('policy: which tools (scope ∧ allow ∧ ¬deny, grants add, a deny anywhere wins)', () => {
  const TABLE: Array<[server: string, person: Person, scope: string | undefined, tool: string, allowed: boolean]> = [
    ['notes', ALICE, 'tools:*', 'read_note', true],
    ['notes', ALICE, 'tools:*', 'list_notes', true],
    ['notes', ALICE, 'tools:*', 'read_secret_key', false],
    ['notes', ALICE, 'tools:*', 'write_note', false],
    ['notes', BOB_OPS, 'tools:*', 'write_note', true],
    ['notes', BOB_OPS, 'tools:*', 'read_secret', false],
    ['notes', ALICE, 'tools:read_note', 'list_notes', false],
    ['notes', ALICE, 'openid tools:read_* email', 'read_note', true],
    ['notes', ALICE, '', 'read_note', false],
    ['notes', ALICE, undefined, 'read_note', false],
    ['notes', ALICE, 'read_note', 'read_note', false],
    ['notes', ALICE, 'tools:*', 'Read_note', false],
    ['notes', ALICE, 'tools:*', 'read_note\u0000write_note', true],
    ['notes', ALICE, 'tools:*', `read_${'x'.repeat(300)}`, false],
    ['open', ['anyone@example.com', []], 'tools:*', 'delete_all', false],
    ['open', ['anyone@example.com', []], 'tools:*', 'user_admin', true],
    ['open', ['bob@example.com', []], 'tools:*', 'user_admin', false],
    ['open', ['bob@example.com', []], 'tools:*', 'delete_all', false],
  ];
  for (const [name, [user, groups], scope, tool, allowed] of TABLE) {
    const verdict = allowed ? 'allowed' : 'refused';
    it(`${name}: ${user} with scope ${JSON.stringify(scope)} → ${JSON.stringify(tool.slice(0, 40))} ${verdict}`, () => {
      const decision = evaluate({ user, groups }, server(name));
      assert.ok(decision.allowed);
      assert.equal(isToolAllowed(tool, toolPatternsOf(scope), decision), allowed);
    });
  }
});

describe('policy: the scope a minted token carries', () => {
  const TABLE: Array<[server: string, person: Person, scope: string]> = [
    ['notes', ALICE, 'tools:read_* tools:list_*'],
    ['notes', BOB_OPS, 'tools:read_* tools:list_* tools:write_*'],
    ['fs', CAROL_ENG, 'tools:*'],
    ['open', ['bob@example.com', []], 'tools:*'],
  ];
  for (const [name, [user, groups], scope] of TABLE) {
    it(`${name}: ${user} → "${scope}"`, () => {
      const decision = evaluate({ user, groups }, server(name));
      assert.ok(decision.allowed);
      assert.equal(scopeFor(decision), scope);
    });
  }
});

describe('policy: per-user not-before revokes tokens issued earlier, by user or by sub', () => {
  const NBF = Date.parse('2026-06-01T00:00:00Z') / 1000;
  const TABLE: Array<[user: string, sub: string, iat: number, outcome: 'allowed' | 'revoked' | 'denied']> = [
    ['alice@example.com', 'sub-alice', NBF - 1, 'revoked'],
    ['alice@example.com', 'sub-alice', NBF, 'allowed'],
    ['erin@example.com', 'sub-erin', NBF - 1, 'revoked'],
    ['bob@example.com', 'sub-bob', NBF - 1, 'allowed'],
    ['carol@example.com', 'sub-carol', NBF + 1, 'denied'],
  ];
  for (const [user, sub, iat, outcome] of TABLE) {
    it(`notes: ${user} (${sub}) issued ${iat - NBF} s from not-before → ${outcome}`, () => {
      const groups = user.startsWith('bob') || user.startsWith('erin') ? ['ops'] : [];
      const result = authorize(
        { user, sub, groups },
        { iat, scope: 'tools:*' },
        server('notes'),
        config.daemon.not_before,
      );
      assert.equal(result.allowed ? 'allowed' : result.revoked ? 'revoked' : 'denied', outcome);
    });
  }
});
