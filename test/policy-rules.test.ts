import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkConfig, type ServerConfig } from '../lib/config/index.js';
import { GatekitError } from '../lib/errors.js';
import { checkCall, RateLimiter, type Call } from '../lib/policy/index.js';

const FILE = '/etc/gatekit/gatekit.toml';

function server(rules: unknown[]): ServerConfig {
  const config = checkConfig(FILE, {
    broker: { signing_key: '/nonexistent/broker.jwk' },
    servers: { fs: { command: ['true'], allow_groups: ['eng', 'ops'], rule: rules } },
  });
  return config.servers.get('fs')!;
}

const FS = server([
  { tools: ['read_*', 'write_*'], args: { path: { path_under: ['/srv/shared/', '/data'] } } },
  { tools: ['write_*'], groups: ['eng'], args: { mode: { enum: ['append', 'replace'] }, note: { max_length: 8 } } },
  { tools: ['search'], args: { q: { pattern: ['*.md', 'README*'] } }, schema: '{"type":"object","required":["q"]}' },
  { tools: ['delete_*'], users: ['root@example.com'], fresh_login: '5m' },
]);

const NOW = 1_800_000_000;
const eng: Omit<Call, 'tool' | 'args'> = { user: 'e@example.com', groups: ['eng'], auth_time: NOW - 60, now: NOW };
const ops: Omit<Call, 'tool' | 'args'> = { user: 'o@example.com', groups: ['ops'], auth_time: NOW - 60, now: NOW };

describe('rule evaluation (pure)', () => {
  const table: Array<[string, Call, string | undefined]> = [
    ['path inside', { ...eng, tool: 'read_file', args: { path: '/srv/shared/a' } }, undefined],
    ['the root itself, trailing slash', { ...eng, tool: 'read_file', args: { path: '/srv/shared/' } }, undefined],
    ['second root', { ...eng, tool: 'read_file', args: { path: '/data//x/./y' } }, undefined],
    [
      'sibling with the same prefix',
      { ...eng, tool: 'read_file', args: { path: '/srv/shared2' } },
      'rule[0].args.path.path_under',
    ],
    ['dot-dot', { ...eng, tool: 'read_file', args: { path: '/data/../etc' } }, 'rule[0].args.path.path_under'],
    [
      'dot-dot that stays inside',
      { ...eng, tool: 'read_file', args: { path: '/data/a/../b' } },
      'rule[0].args.path.path_under',
    ],
    ['relative', { ...eng, tool: 'read_file', args: { path: 'data/x' } }, 'rule[0].args.path.path_under'],
    ['tilde', { ...eng, tool: 'read_file', args: { path: '~/x' } }, 'rule[0].args.path.path_under'],
    ['NUL', { ...eng, tool: 'read_file', args: { path: '/data/x\0' } }, 'rule[0].args.path.path_under'],
    [
      'too long',
      { ...eng, tool: 'read_file', args: { path: `/data/${'x'.repeat(5000)}` } },
      'rule[0].args.path.path_under',
    ],
    ['number', { ...eng, tool: 'read_file', args: { path: 1 } }, 'rule[0].args.path.path_under'],
    ['missing', { ...eng, tool: 'read_file', args: {} }, 'rule[0].args.path'],
    ['no arguments at all', { ...eng, tool: 'read_file', args: undefined }, 'rule[0].args.path'],
    ['arguments not an object', { ...eng, tool: 'read_file', args: ['/data/x'] }, 'rule[0].args'],
    ['arguments a string', { ...eng, tool: 'read_file', args: '/data/x' }, 'rule[0].args'],
    [
      'inherited property is not an argument',
      { ...eng, tool: 'read_file', args: Object.create({ path: '/data/x' }) },
      'rule[0].args.path',
    ],
    [
      'eng write: enum ok',
      { ...eng, tool: 'write_file', args: { path: '/data/a', mode: 'append', note: 'hi' } },
      undefined,
    ],
    [
      'eng write: enum bad',
      { ...eng, tool: 'write_file', args: { path: '/data/a', mode: 'APPEND', note: 'hi' } },
      'rule[1].args.mode.enum',
    ],
    [
      'eng write: too long',
      { ...eng, tool: 'write_file', args: { path: '/data/a', mode: 'append', note: '123456789' } },
      'rule[1].args.note.max_length',
    ],
    ['ops write: group rule does not apply', { ...ops, tool: 'write_file', args: { path: '/data/a' } }, undefined],
    ['glob: matches', { ...ops, tool: 'search', args: { q: 'notes.md' } }, undefined],
    [
      'glob: regex metacharacters are literal',
      { ...ops, tool: 'search', args: { q: 'x.mdx' } },
      'rule[2].args.q.pattern',
    ],
    ['glob: second pattern', { ...ops, tool: 'search', args: { q: 'README' } }, undefined],
    [
      'glob: hostile length',
      { ...ops, tool: 'search', args: { q: `${'a'.repeat(200_000)}.m` } },
      'rule[2].args.q.pattern',
    ],
    ['fresh login: other user unaffected', { ...ops, tool: 'delete_file', args: {}, auth_time: undefined }, undefined],
    ['fresh login: fresh', { ...ops, user: 'root@example.com', tool: 'delete_file', args: {} }, undefined],
    [
      'fresh login: stale',
      { ...ops, user: 'root@example.com', tool: 'delete_file', args: {}, auth_time: NOW - 301 },
      'rule[3].fresh_login',
    ],
    [
      'fresh login: unknown',
      { ...ops, user: 'root@example.com', tool: 'delete_file', args: {}, auth_time: undefined },
      'rule[3].fresh_login',
    ],
    ['no rule for this tool', { ...ops, tool: 'other', args: 'anything' }, undefined],
  ];
  for (const [name, call, expected] of table) {
    it(name, () => {
      const verdict = checkCall(FS, call);
      assert.equal(
        verdict.allowed ? undefined : verdict.rule,
        expected === undefined ? undefined : `servers.fs.${expected}`,
      );
    });
  }

  it('errors never quote the argument', () => {
    const verdict = checkCall(FS, { ...eng, tool: 'read_file', args: { path: '/secret-value/../x' } });
    assert.equal(verdict.allowed, false);
    assert.ok(!JSON.stringify(verdict).includes('secret-value'));
  });

  it('rate: a burst of count, then one per period/count; buckets stay bounded', () => {
    const limited = server([{ tools: ['*'], rate: '2/m' }]);
    const limiter = new RateLimiter(3);
    const at = (now: number, user = 'a') =>
      checkCall(limited, { user, groups: [], tool: 't', args: {}, auth_time: 0, now }, limiter);
    assert.equal(at(NOW).allowed, true);
    assert.equal(at(NOW).allowed, true);
    const third = at(NOW);
    assert.equal(third.allowed, false);
    assert.equal(!third.allowed && third.retry_after, 30);
    assert.equal(at(NOW + 30).allowed, true);
    for (const u of ['b', 'c', 'd', 'e']) at(NOW + 30, u);
    assert.equal(limiter.size, 3);
  });

  it("rate: calls to other names the rule's glob matches share its bucket (keyed by rule, not tool name)", () => {
    const limited = server([{ tools: ['*'], rate: '2/m' }]);
    const limiter = new RateLimiter();
    let allowed = 0;
    for (let i = 0; i < 10_000; i++) {
      const call = { user: 'a', groups: [], tool: `t${i}`, args: {}, auth_time: 0, now: NOW };
      if (checkCall(limited, call, limiter).allowed) allowed++;
    }
    assert.equal(allowed, 2);
    assert.equal(limiter.size, 1);
  });

  it("rate: a full map drops the person's own buckets, never another person's refilling one", () => {
    const limited = server([
      { tools: ['a_*'], rate: '1/m' },
      { tools: ['b_*'], rate: '1/m' },
    ]);
    const limiter = new RateLimiter(2);
    const at = (user: string, tool: string) =>
      checkCall(limited, { user, groups: [], tool, args: {}, auth_time: 0, now: NOW }, limiter);
    assert.equal(at('victim', 'a_1').allowed, true);
    assert.equal(at('victim', 'a_2').allowed, false);
    // A stranger fills the map: its first bucket fits, then it can only push out its own.
    assert.equal(at('stranger', 'a_1').allowed, true);
    assert.equal(at('stranger', 'b_1').allowed, true);
    assert.equal(at('victim', 'a_3').allowed, false, "the victim's bucket survived the stranger's calls");
    // A newcomer while the map is full of refilling buckets waits; it never resets the victim.
    const newcomer = at('newcomer', 'a_1');
    assert.equal(newcomer.allowed, false);
    assert.equal(!newcomer.allowed && newcomer.kind, 'rate');
    assert.equal(at('victim', 'a_4').allowed, false);
    assert.equal(limiter.size, 2);
  });

  it('config errors name the file and the key', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ tools: ['x'], schema: '{not json' }, /servers\.fs\.rule\[0\]\.schema/],
      [
        { tools: ['x'], schema: '{"type":"object","properties":{"a":{"type":"string","pattern":"(a+)+$"}}}' },
        /servers\.fs\.rule\[0\]\.schema/,
      ],
      [{ tools: ['x'], schema: '{"type":"strnig"}' }, /servers\.fs\.rule\[0\]\.schema/],
      [{ tools: ['x'], args: { p: { path_under: ['relative'] } } }, /servers\.fs\.rule\[0\]\.args\.p\.path_under/],
      [{ tools: ['x'], args: { p: { path_under: ['/a/../b'] } } }, /servers\.fs\.rule\[0\]\.args\.p\.path_under/],
      [{ tools: ['x'], args: { p: { regex: '.*' } } }, /servers\.fs\.rule\[0\]\.args\.p\.regex/],
      [{ tools: ['x'], args: { p: { enum: [] } } }, /servers\.fs\.rule\[0\]\.args\.p\.enum/],
      [{ tools: ['x'], rate: 'lots' }, /servers\.fs\.rule\[0\]\.rate/],
      [{ tools: ['x'], fresh_login: 'soon' }, /servers\.fs\.rule\[0\]\.fresh_login/],
      [{ tools: [], rate: '1/s' }, /servers\.fs\.rule\[0\]\.tools/],
      [{ tools: ['x'] }, /servers\.fs\.rule\[0\]\.args/],
      [{ tools: ['x'], rate: '1/s', group: ['eng'] }, /servers\.fs\.rule\[0\]\.group/],
    ];
    for (const [rule, key] of bad) {
      assert.throws(
        () => server([rule]),
        (err: unknown) => {
          assert.ok(err instanceof GatekitError && err.code === 'CONFIG_INVALID', String(err));
          assert.match(err.message, key);
          assert.ok(err.message.includes(FILE));
          return true;
        },
      );
    }
  });
});
