import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatch, isToolAllowed, MAX_TOOL_NAME_LENGTH } from '../lib/policy/index.js';

const TABLE: Array<[pattern: string, name: string, expected: boolean]> = [
  ['*', '', true],
  ['*', 'anything at all', true],
  ['read_file', 'read_file', true],
  ['read_file', 'read_files', false],
  ['read_file', 'read_fil', false],
  ['', '', true],
  ['', 'a', false],
  ['read_*', 'read_', true],
  ['read_*', 'read_file', true],
  ['read_*', 'xread_file', false],
  ['*_file', 'read_file', true],
  ['*_file', 'read_files', false],
  ['a*b*c', 'abc', true],
  ['a*b*c', 'aXbYc', true],
  ['a*b*c', 'acb', false],
  ['a*b*c', 'abcbc', true],
  ['a*bc', 'abcbc', true],
  ['a*b?d', 'abxbcd', true],
  ['a*b?d', 'abxbd', false],
  ['?', 'x', true],
  ['?', '', false],
  ['?', 'xy', false],
  ['??_*', 'ab_', true],
  ['*?', '', false],
  ['**', '', true],
  ['a**b', 'ab', true],
  ['*_*_*_admin', 'x_y_z_admin', true],
  ['*_*_*_admin', 'x_y_admin', false],
  ['*_*_*_admin', '___admin', true],
  ['*admin*', 'superadmin_tool', true],
  ['*ab*ab*', 'abab', true],
  ['*ab*ab*', 'aba', false],
  ['*aab', 'aaab', true],
  ['x.y', 'xzy', false],
  ['a+b', 'aab', false],
  ['(a|b)', '(a|b)', true],
  ['[ab]', 'a', false],
  ['^read$', '^read$', true],
  ['read\\_*', 'read\\_x', true],
  ['é*', 'éclair', true],
  ['line*', 'line\nbreak', true],
];

describe('policy: glob matching', () => {
  for (const [pattern, name, expected] of TABLE) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
      assert.equal(globMatch(pattern, name), expected);
    });
  }

  it('pathological patterns against long names finish with the right answer (no backtracking)', () => {
    // A backtracking matcher takes time cubic in the name for each of these; this one is O(name × pattern).
    const underscores = '_'.repeat(100_000);
    assert.equal(globMatch('*_*_*_admin', underscores), false);
    assert.equal(globMatch('*_*_*_*_*_*_*_*_*_*_admin', underscores), false);
    assert.equal(globMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(100_000)), false);
    assert.equal(globMatch('*?*?*?*?*?*!', 'x'.repeat(100_000)), false);
    assert.equal(globMatch('*_*_*_admin', `${underscores}admin`), true);
  });

  it('a tool name longer than the cap is never allowed, whatever the patterns', () => {
    const decision = { allowed: true as const, rule: 'test', allow: ['*'], deny: [] };
    assert.equal(isToolAllowed('a'.repeat(MAX_TOOL_NAME_LENGTH), ['*'], decision), true);
    assert.equal(isToolAllowed('a'.repeat(MAX_TOOL_NAME_LENGTH + 1), ['*'], decision), false);
    assert.equal(isToolAllowed('a'.repeat(100_000), ['*'], decision), false);
  });
});
