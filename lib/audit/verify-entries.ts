import { readFileSync } from 'node:fs';
import { GatekitError } from '../errors.js';
import { GENESIS } from './chain.js';

type AuditProblemKind =
  'malformed' | 'edited' | 'deleted' | 'reordered' | 'duplicate' | 'forged-checkpoint' | 'unsealed' | 'truncated';

/** One finding, at a line of one file (1-based). */
export interface AuditProblem {
  readonly kind: AuditProblemKind;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** One chained audit line as `gatekit audit verify` reads it: where it is, its raw text, `seq`, `prev`. */
export interface Entry {
  readonly file: string;
  readonly line: number;
  readonly raw: string;
  readonly seq: number;
  readonly prev: string;
  readonly fields: Record<string, unknown>;
}

/** Reads `files` in order into entries; a line that is not a chained audit line, or a torn last one, is malformed. */
export function readEntries(
  files: readonly string[],
  problems: AuditProblem[],
): { entries: Entry[]; lineCount: number } {
  const entries: Entry[] = [];
  let lineCount = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new GatekitError('NOT_FOUND', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code}`, { cause });
    }
    const lines = text.split('\n');
    const torn = lines.pop() !== '';
    lines.forEach((raw, i) => {
      lineCount++;
      const entry = parseEntry(file, i + 1, raw);
      if (entry) entries.push(entry);
      else
        problems.push({
          kind: 'malformed',
          file,
          line: i + 1,
          message: 'not an audit line (no JSON with "seq" and "prev")',
        });
    });
    if (torn) {
      lineCount++;
      problems.push({
        kind: 'malformed',
        file,
        line: lines.length + 1,
        message: 'cut off: the file ends in the middle of a line',
      });
    }
  }
  return { entries, lineCount };
}

function parseEntry(file: string, line: number, raw: string): Entry | undefined {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const { seq, prev } = fields;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1 || typeof prev !== 'string') return undefined;
  return { file, line, raw, seq: seq as number, prev, fields };
}

/** Splits at each new chain (seq 1 linked to GENESIS): a fresh log, after a stop sealed the old one. */
export function chains(entries: readonly Entry[]): Entry[][] {
  const out: Entry[][] = [];
  for (const e of entries) {
    if (out.length === 0 || (e.seq === 1 && e.prev === GENESIS)) out.push([]);
    out.at(-1)!.push(e);
  }
  return out;
}

export function where(e: Entry): string {
  return `${e.file}:${e.line}`;
}
