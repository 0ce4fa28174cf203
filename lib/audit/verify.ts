import { readFileSync } from 'node:fs';
import { compactVerify, importJWK, type JWK } from 'jose';
import { GatekitError } from '../errors.js';
import { GENESIS, hashLine } from './chain.js';

export type AuditProblemKind =
  'malformed' | 'edited' | 'deleted' | 'reordered' | 'duplicate' | 'forged-checkpoint' | 'unsealed';

/** One finding, at a line of one file (1-based). */
export interface AuditProblem {
  readonly kind: AuditProblemKind;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface AuditVerifyReport {
  /** True when nothing is wrong (an unsealed tail counts only when `allowUnsealed` is not set). */
  readonly ok: boolean;
  readonly files: readonly string[];
  readonly lines: number;
  readonly checkpoints: number;
  /** Lines after the last valid checkpoint: not (yet) sealed by a signature. */
  readonly unsealed: number;
  readonly problems: readonly AuditProblem[];
}

interface Entry {
  readonly file: string;
  readonly line: number;
  readonly raw: string;
  readonly seq: number;
  readonly prev: string;
  readonly fields: Record<string, unknown>;
}

/**
 * `gatekit audit verify`: checks the hash chain across `files` (in the given order, oldest first)
 * and every checkpoint's JWS (RFC 7515, EdDSA) against `keys`. Finds edited, deleted, reordered,
 * duplicated and malformed lines, forged or mismatched checkpoints, and the unsealed tail. It cannot
 * see lines cut from the head of the first file, or a tail cut exactly at a checkpoint, and a holder
 * of the audit key can rewrite everything.
 */
export async function verifyAuditFiles(
  files: readonly string[],
  keys: readonly JWK[],
  allowUnsealed = false,
): Promise<AuditVerifyReport> {
  const problems: AuditProblem[] = [];
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
  const byKid = new Map<string, JWK>(keys.filter((k) => typeof k.kid === 'string').map((k) => [k.kid!, k]));
  let checkpoints = 0;
  let unsealed = 0;
  const segments = chains(entries);
  const head = segments[0]?.[0];
  if (head && head.seq > 1) {
    // The first file links to a line given later: the files are out of order.
    const earlier = segments.slice(1).find((s) => s.some((e) => hashLine(e.raw) === head.prev));
    if (earlier)
      problems.push({
        kind: 'reordered',
        file: earlier[0]!.file,
        line: earlier[0]!.line,
        message: `this chain comes before ${where(head)}: give the files oldest first`,
      });
  }
  for (const segment of segments) {
    const bySeq = new Map<number, Entry>();
    let highest = -Infinity;
    for (const e of segment) {
      if (bySeq.has(e.seq)) {
        problems.push({
          kind: 'duplicate',
          file: e.file,
          line: e.line,
          message: `seq ${e.seq} appears again (first at ${where(bySeq.get(e.seq)!)})`,
        });
        continue;
      }
      if (e.seq < highest)
        problems.push({
          kind: 'reordered',
          file: e.file,
          line: e.line,
          message: `seq ${e.seq} comes after seq ${highest}`,
        });
      bySeq.set(e.seq, e);
      highest = Math.max(highest, e.seq);
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) {
      const [a, b] = [seqs[i - 1]!, seqs[i]!];
      const next = bySeq.get(b)!;
      if (b > a + 1) {
        const missing = b - a - 1;
        problems.push({
          kind: 'deleted',
          file: next.file,
          line: next.line,
          message: `${missing} line(s) missing before this one (seq ${a + 1}${missing > 1 ? `–${b - 1}` : ''})`,
        });
      } else if (next.prev !== hashLine(bySeq.get(a)!.raw)) {
        const edited = bySeq.get(a)!;
        problems.push({
          kind: 'edited',
          file: edited.file,
          line: edited.line,
          message: `changed: its hash is not the "prev" recorded by ${where(next)}`,
        });
      }
    }
    let sealedThrough = -Infinity;
    for (const e of segment) {
      if (e.fields['event'] !== 'audit.checkpoint') continue;
      checkpoints++;
      const why = await checkpointProblem(e, byKid);
      if (why) problems.push({ kind: 'forged-checkpoint', file: e.file, line: e.line, message: why });
      else sealedThrough = Math.max(sealedThrough, e.seq);
    }
    const open = segment.filter((e) => e.seq > sealedThrough);
    if (open.length > 0) {
      unsealed += open.length;
      problems.push({
        kind: 'unsealed',
        file: open[0]!.file,
        line: open[0]!.line,
        message: `${open.length} line${open.length > 1 ? 's' : ''} from here on are not sealed by a valid checkpoint`,
      });
    }
  }
  const failing = problems.filter((p) => !(allowUnsealed && p.kind === 'unsealed'));
  return { ok: failing.length === 0, files, lines: lineCount, checkpoints, unsealed, problems };
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
function chains(entries: readonly Entry[]): Entry[][] {
  const out: Entry[][] = [];
  for (const e of entries) {
    if (out.length === 0 || (e.seq === 1 && e.prev === GENESIS)) out.push([]);
    out.at(-1)!.push(e);
  }
  return out;
}

async function checkpointProblem(e: Entry, byKid: ReadonlyMap<string, JWK>): Promise<string | undefined> {
  const sig = e.fields['sig'];
  if (typeof sig !== 'string') return 'checkpoint without a signature';
  let kid: unknown;
  try {
    kid = JSON.parse(Buffer.from(sig.split('.')[0] ?? '', 'base64url').toString('utf8')).kid;
  } catch {
    kid = undefined;
  }
  const jwk = typeof kid === 'string' ? byKid.get(kid) : undefined;
  if (!jwk) return `signed with a key that is not the audit key (kid ${JSON.stringify(String(kid).slice(0, 60))})`;
  let payload: Record<string, unknown>;
  try {
    const key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
    payload = JSON.parse(new TextDecoder().decode((await compactVerify(sig, key, { algorithms: ['EdDSA'] })).payload));
  } catch {
    return 'bad signature';
  }
  for (const field of ['seq', 'prev', 'ts', 'reason'] as const) {
    if (payload[field] !== e.fields[field])
      return `signed "${field}" differs from the line's: the checkpoint or the lines before it were changed`;
  }
  return undefined;
}

function where(e: Entry): string {
  return `${e.file}:${e.line}`;
}
