import { compactVerify, importJWK, type JWK } from 'jose';
import { anchorProblem, type AuditAnchor } from './anchor.js';
import { hashLine } from './chain.js';
import { chains, readEntries, where, type AuditProblem, type Entry } from './verify-entries.js';

export interface AuditVerifyReport {
  /** True when nothing is wrong (an unsealed tail counts only when `allowUnsealed` is not set). */
  readonly ok: boolean;
  readonly files: readonly string[];
  readonly lines: number;
  readonly checkpoints: number;
  /** Lines after the last valid checkpoint: not (yet) sealed by a signature. */
  readonly unsealed: number;
  readonly problems: readonly AuditProblem[];
  /** The anchor the files were checked against ([daemon] audit_anchor, or --anchor), if any. */
  readonly anchor?: { readonly file: string; readonly seq: number; readonly hash: string };
}

/**
 * `gatekit audit verify`: checks the hash chain across `files` (in the given order, oldest first)
 * and every checkpoint's JWS (RFC 7515, EdDSA) against `keys`. Finds edited, deleted, reordered,
 * duplicated and malformed lines, forged or mismatched checkpoints, and the unsealed tail; with the daemon's
 * `anchor`, a tail cut back to an earlier checkpoint. It cannot see lines cut from the head of the first file, or
 * the lines after the last checkpoint cut exactly at it, and a holder of the audit key can rewrite everything.
 */
export async function verifyAuditFiles(
  files: readonly string[],
  keys: readonly JWK[],
  allowUnsealed = false,
  anchor?: { readonly file: string; readonly anchor: AuditAnchor },
): Promise<AuditVerifyReport> {
  const problems: AuditProblem[] = [];
  const { entries, lineCount } = readEntries(files, problems);
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
  if (anchor) {
    const problem = anchoredProblem(anchor.anchor, anchor.file, files.at(-1) ?? '', segments.at(-1) ?? []);
    if (problem) problems.push(problem);
  }
  const failing = problems.filter((p) => !(allowUnsealed && p.kind === 'unsealed'));
  const anchored = anchor ? { anchor: { file: anchor.file, seq: anchor.anchor.seq, hash: anchor.anchor.hash } } : {};
  return { ok: failing.length === 0, files, lines: lineCount, checkpoints, unsealed, problems, ...anchored };
}

/** A chain (its last segment) that ends before the anchor's checkpoint, or holds another line there: `truncated`. */
function anchoredProblem(
  anchor: AuditAnchor,
  anchorFile: string,
  lastFile: string,
  segment: readonly Entry[],
): AuditProblem | undefined {
  const last = segment.reduce<Entry | undefined>((a, e) => (a === undefined || e.seq > a.seq ? e : a), undefined);
  const hashAt = (seq: number) => {
    const entry = segment.find((e) => e.seq === seq);
    return entry ? hashLine(entry.raw) : undefined;
  };
  const message = anchorProblem(anchor, anchorFile, lastFile, last, hashAt);
  if (!message) return undefined;
  return { kind: 'truncated', file: last?.file ?? lastFile, line: last?.line ?? 1, message };
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
