import { createRequire } from 'node:module';
import { posix } from 'node:path';
import { isTable, Section } from './section.js';
import { resourceGlobs } from './resource-globs.js';
import type { ArgumentRule, RateRule, SchemaCheck, ToolRule } from './types.js';

const RATE = /^(\d{1,9})\s*\/\s*(\d*)\s*(s|m|h|d)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const ARGUMENT_NAME_MAX = 256;

/** `[[servers.NAME.rule]]`: checked and compiled at load, so a bad rule is a config error naming file and key. */
export function checkRules(server: Section): ToolRule[] {
  return server.tables('rule').map((s) => {
    const rule: ToolRule = {
      key: s.path,
      tools: s.strings('tools'),
      resources: resourceGlobs(s, 'resources'),
      prompts: s.strings('prompts'),
      users: s.strings('users'),
      groups: s.strings('groups'),
      args: checkArgs(s.optTable('args')),
      schema: checkSchema(s),
      rate: checkRate(s),
      fresh_login: s.has('fresh_login') ? s.duration('fresh_login', 0, 366 * 86_400) : undefined,
    };
    if (rule.tools.length + rule.resources.length + rule.prompts.length === 0)
      s.fail('tools', 'a non-empty array of tool globs like ["read_*"] (or "resources" or "prompts" set)');
    if (!Object.keys(rule.args).length && !rule.schema && !rule.rate && rule.fresh_login === undefined) {
      s.fail('args', 'set (or "schema", "rate" or "fresh_login" set)', 'a rule without checks does nothing; remove it');
    }
    s.done();
    return rule;
  });
}

function checkArgs(s: Section | undefined): Record<string, ArgumentRule> {
  const args: Record<string, ArgumentRule> = {};
  for (const name of s?.names() ?? []) {
    if (name.length > ARGUMENT_NAME_MAX) s!.fail(name, `an argument name of at most ${ARGUMENT_NAME_MAX} characters`);
    const a = s!.optTable(name) ?? s!.fail(name, 'a table like { path_under = ["/srv/shared"] }');
    const rule: { -readonly [K in keyof ArgumentRule]: ArgumentRule[K] } = {};
    if (a.has('path_under')) {
      rule.path_under = a.strings('path_under').map((root) => {
        if (!root.startsWith('/') || root.includes('\0') || root.split('/').includes('..')) {
          a.fail('path_under', 'absolute directories without ".." segments, like ["/srv/shared"]');
        }
        return stripTrailingSlash(posix.normalize(root));
      });
    }
    if (a.has('pattern')) {
      const v = a.raw('pattern');
      rule.pattern = typeof v === 'string' ? [v] : a.strings('pattern');
      if (rule.pattern.length === 0 || rule.pattern.some((p) => p === ''))
        a.fail('pattern', 'a glob or an array of globs');
    }
    if (a.has('enum')) {
      const v = a.raw('enum');
      const ok = (x: unknown) =>
        typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
      if (!Array.isArray(v) || v.length === 0 || !v.every(ok))
        a.fail('enum', 'a non-empty array of strings, numbers or booleans');
      rule.enum = [...(v as (string | number | boolean)[])];
    }
    if (a.has('max_length')) rule.max_length = a.int('max_length', 0, 0, 1 << 30);
    a.done();
    if (Object.keys(rule).length === 0) s!.fail(name, 'a table with path_under, pattern, enum or max_length');
    args[name] = rule;
  }
  s?.done();
  return args;
}

function stripTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function checkRate(s: Section): RateRule | undefined {
  const text = s.optString('rate');
  if (text === undefined) return undefined;
  const m = RATE.exec(text.trim());
  const count = m ? Number(m[1]) : 0;
  const seconds = m ? Number(m[2] || 1) * UNIT_SECONDS[m[3]!]! : 0;
  if (!m || count < 1 || seconds < 1) s.fail('rate', 'calls per period like "60/m", "1000/h" or "5/10s"');
  return { count, seconds, text };
}

/**
 * A JSON Schema for the whole `arguments` object, compiled with ajv at load. ajv builds regular
 * expressions for `pattern` keywords, and an attacker controls what they run on, so `pattern` and
 * `patternProperties` are refused: use `args.NAME.pattern`, a linear-time glob, instead.
 */
function checkSchema(s: Section): SchemaCheck | undefined {
  const raw = s.raw('schema');
  if (raw === undefined) return undefined;
  let schema: unknown = raw;
  if (typeof raw === 'string') {
    try {
      schema = JSON.parse(raw);
    } catch (err) {
      s.fail('schema', `JSON (${(err as Error).message.slice(0, 80)})`);
    }
  }
  if (!isTable(schema) && typeof schema !== 'boolean')
    s.fail('schema', 'a JSON Schema object, as a JSON string or a table');
  const Ajv = (createRequire(import.meta.url)('ajv') as typeof import('ajv')).default;
  const noRegExp = () => {
    throw new Error('"pattern" is not allowed: use args.NAME.pattern (a linear-time glob)');
  };
  const ajv = new Ajv({
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    logger: false,
    allErrors: false,
    code: { regExp: noRegExp as never },
  });
  let validate: ReturnType<typeof ajv.compile>;
  try {
    validate = ajv.compile(schema as object);
  } catch (err) {
    s.fail('schema', `a valid JSON Schema (${(err as Error).message.slice(0, 160)})`);
  }
  return (args) => {
    if (validate(args)) return undefined;
    const first = validate.errors?.[0];
    return { path: first?.instancePath || '/', message: `${first?.keyword ?? 'schema'} ${first?.message ?? 'failed'}` };
  };
}
