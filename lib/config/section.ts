import { GatekitError } from '../errors.js';
import { parseDuration } from './duration.js';

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (isTable(value)) return 'a table';
  return typeof value === 'string' ? `"${value}"` : String(value);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/**
 * A typed, checked view of one TOML table. Every read records the key; `done()` rejects the keys
 * nobody read, so a typo is an error naming the file and the key path instead of a silent default.
 */
export class Section {
  readonly file: string;
  readonly path: string;
  readonly #table: Table;
  readonly #read = new Set<string>();

  constructor(file: string, path: string, table: Table) {
    this.file = file;
    this.path = path;
    this.#table = table;
  }

  keyPath(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  fail(key: string, expected: string, hint?: string): never {
    const got = this.#table[key];
    const found = got === undefined ? 'it is missing' : `got ${describe(got)}`;
    throw new GatekitError('CONFIG_INVALID', `${this.file}: "${this.keyPath(key)}" must be ${expected}; ${found}`, {
      hint: hint ?? `fix "${this.keyPath(key)}" in ${this.file}`,
    });
  }

  has(key: string): boolean {
    return this.#table[key] !== undefined;
  }

  raw(key: string): unknown {
    this.#read.add(key);
    return this.#table[key];
  }

  optString(key: string, check?: (v: string) => boolean, expected = 'a non-empty string'): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '' || (check && !check(v))) this.fail(key, expected);
    return v;
  }

  string(key: string, fallback?: string, check?: (v: string) => boolean, expected?: string): string {
    const v = this.optString(key, check, expected);
    if (v !== undefined) return v;
    if (fallback === undefined) this.fail(key, expected ?? 'a non-empty string');
    return fallback;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const expected = `one of ${choices.map((c) => `"${c}"`).join(', ')}`;
    return this.string(key, fallback, (v) => (choices as readonly string[]).includes(v), expected) as T;
  }

  strings(key: string, fallback: readonly string[] = []): readonly string[] {
    const v = this.raw(key);
    if (v === undefined) return Object.freeze([...fallback]);
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === ''))
      this.fail(key, 'an array of non-empty strings');
    return Object.freeze([...(v as string[])]);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      this.fail(key, `a whole number from ${min} to ${max}`);
    return v;
  }

  /** A duration such as "5m" or "1h30m", in seconds. */
  duration(key: string, fallback: number, max = Infinity): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const seconds = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : undefined;
    if (seconds === undefined || seconds <= 0 || seconds > max) {
      this.fail(key, `a duration like "90s", "5m" or "1h"${max < Infinity ? ` of at most ${max}s` : ''}`);
    }
    return seconds;
  }

  stringMap(key: string): Readonly<Record<string, string>> {
    const v = this.raw(key);
    if (v === undefined) return Object.freeze({});
    if (!isTable(v) || Object.values(v).some((s) => typeof s !== 'string')) this.fail(key, 'a table of strings');
    return Object.freeze({ ...(v as Record<string, string>) });
  }

  optTable(key: string): Section | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isTable(v)) this.fail(key, 'a table');
    return new Section(this.file, this.keyPath(key), v);
  }

  table(key: string): Section {
    return this.optTable(key) ?? new Section(this.file, this.keyPath(key), {});
  }

  /** An array of tables (`[[x.y]]`). */
  tables(key: string): Section[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) this.fail(key, 'an array of tables');
    return (v as Table[]).map((t, i) => new Section(this.file, `${this.keyPath(key)}[${i}]`, t));
  }

  /** The keys of a table whose keys are names (like [servers.*]); each one is marked read. */
  names(): string[] {
    const keys = Object.keys(this.#table);
    for (const k of keys) this.#read.add(k);
    return keys;
  }

  /** Rejects every key that was never read, suggesting the closest known one. */
  done(): void {
    const known = [...this.#read];
    for (const key of Object.keys(this.#table)) {
      if (this.#read.has(key)) continue;
      const best = known
        .map((k) => [k, editDistance(k, key)] as const)
        .filter(([, d]) => d <= Math.max(2, Math.floor(key.length / 3)))
        .sort((a, b) => a[1] - b[1])[0];
      throw new GatekitError('CONFIG_INVALID', `${this.file}: unknown key "${this.keyPath(key)}"`, {
        hint: best
          ? `did you mean "${this.keyPath(best[0])}"?`
          : `remove it; see the README for the keys of [${this.path || 'top level'}]`,
      });
    }
  }
}

export { isTable };
