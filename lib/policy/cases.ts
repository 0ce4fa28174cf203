import type { Config } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { explain, type Answer, type Question } from './explain.js';

/** One row of a policy test file: a question and the decision (and optionally the rule) expected. */
export interface PolicyCase extends Question {
  readonly name: string;
  readonly expect: 'allow' | 'deny';
  readonly rule?: string | undefined;
}

export interface CaseResult {
  readonly case: PolicyCase;
  readonly answer: Answer;
  readonly ok: boolean;
}

const KEYS = new Set([
  'name',
  'user',
  'groups',
  'server',
  'tool',
  'uri',
  'prompt',
  'args',
  'login_age',
  'expect',
  'rule',
]);

/** The `[[case]]` array of a parsed test file (TOML or JSON); every problem names the file and the case. */
export function parseCases(file: string, doc: unknown): PolicyCase[] {
  const rows = (doc as { case?: unknown } | null)?.case;
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new GatekitError('USAGE', `${file}: no cases; write one [[case]] table per case`);
  }
  return rows.map((row: Record<string, unknown>, i) => {
    const bad = (key: string, expected: string): never => {
      throw new GatekitError('USAGE', `${file}: "case[${i}].${key}" must be ${expected}`);
    };
    if (typeof row !== 'object' || row === null || Array.isArray(row)) bad('', 'a table');
    for (const key of Object.keys(row)) if (!KEYS.has(key)) bad(key, `one of ${[...KEYS].join(', ')} (unknown key)`);
    const str = (key: string, optional = false) => {
      const v = row[key];
      if (v === undefined && optional) return undefined;
      return typeof v === 'string' && v !== '' ? v : bad(key, 'a non-empty string');
    };
    const groups = row['groups'] ?? [];
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) bad('groups', 'an array of strings');
    const expect = str('expect');
    if (expect !== 'allow' && expect !== 'deny') bad('expect', '"allow" or "deny"');
    const age = row['login_age'];
    if (age !== undefined && (typeof age !== 'number' || age < 0)) bad('login_age', 'seconds since the login, ≥ 0');
    const tool = str('tool', true);
    const uri = str('uri', true);
    const prompt = str('prompt', true);
    if ([tool, uri, prompt].filter((x) => x !== undefined).length > 1)
      bad('tool', 'the only one of tool, uri and prompt');
    if (row['args'] !== undefined && tool === undefined && prompt === undefined)
      bad('tool', 'set (or "prompt" set) when args is set');
    return {
      name: str('name', true) ?? `case ${i + 1}`,
      user: str('user')!,
      groups: groups as string[],
      server: str('server')!,
      tool,
      uri,
      prompt,
      args: row['args'],
      login_age: age as number | undefined,
      expect: expect as 'allow' | 'deny',
      rule: str('rule', true),
    };
  });
}

/** Runs every case against the config: a case passes when the decision, and the rule if given, match. */
export function runCases(config: Config, cases: readonly PolicyCase[]): CaseResult[] {
  return cases.map((c) => {
    const answer = explain(config, c);
    return { case: c, answer, ok: answer.decision === c.expect && (c.rule === undefined || c.rule === answer.rule) };
  });
}
