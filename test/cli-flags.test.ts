import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gatekit } from './helpers/cli.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** A value for a placeholder: the first of `a|b` choices, a duration for DUR, else a plain word. */
function placeholderValue(token: string): string {
  if (token === 'DUR') return '30s';
  return token.includes('|') ? token.split('|')[0]! : token.toLowerCase();
}

const isPlaceholder = (t: string) =>
  t !== '--' && !t.startsWith('-') && (t.includes('|') || /^[A-Z][A-Z0-9_]*$/.test(t));

/**
 * The README's command table, row by row: `gatekit broker login [--resource NAME]… [--no-browser]`
 * becomes an argv with every documented flag (and a value where the README shows one).
 */
function documentedCommands(): Array<{ usage: string; argv: string[]; flags: string[] }> {
  const rows = readFileSync(README, 'utf8')
    .split('\n')
    .map((l) => /^\| `(gatekit [^`]+)` \|/.exec(l)?.[1])
    .filter((u): u is string => !!u);
  return rows.map((usage) => {
    const tokens = usage
      .replace(/\\\|/g, '|')
      .replace(/[[\]…]/g, ' ')
      .split(/\s+/)
      .filter(Boolean)
      .slice(1);
    const argv: string[] = [];
    const flags: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.startsWith('--') && t !== '--') {
        flags.push(t);
        argv.push(t);
        if (tokens[i + 1] && isPlaceholder(tokens[i + 1]!)) argv.push(placeholderValue(tokens[++i]!));
      } else {
        argv.push(isPlaceholder(t) ? placeholderValue(t) : t);
      }
    }
    return { usage, argv, flags };
  });
}

describe('every flag in the README command table parses', () => {
  const commands = documentedCommands();

  it('finds the command table', () => {
    assert.ok(commands.length >= 10, `${commands.length} rows`);
    assert.ok(commands.some((c) => c.flags.includes('--no-browser')));
  });

  for (const { usage, argv, flags } of commands.filter((c) => c.flags.length > 0)) {
    it(`accepts ${flags.join(' ')} (${usage.split(' [')[0]})`, async () => {
      // A missing config stops every command right after parsing: a flag that did not parse is USAGE instead.
      const args = ['--config', '/nonexistent/gatekit.toml', '--debug', ...argv];
      const r = await gatekit(args, { env: { GATEKIT_HOME: '/nonexistent/state' } });
      const code = /^code: (\w+)$/m.exec(r.stderr)?.[1];
      assert.notEqual(code, 'USAGE', `${args.join(' ')}:\n${r.stderr}`);
      assert.notEqual(r.code, null);
    });
  }
});
