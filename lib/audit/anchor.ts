import { closeSync, constants, lstatSync, openSync, readFileSync } from 'node:fs';
import { GatekitError } from '../errors.js';
import { writeFileAtomic } from '../files.js';

/**
 * The last checkpoint the daemon wrote, kept outside the log ([daemon] audit_anchor): its `seq` and the hash of its
 * line, and which log it belongs to. A log cut back to an earlier checkpoint verifies on its own; against the anchor
 * it ends too soon.
 */
export interface AuditAnchor {
  /** The absolute path of the audit log the anchor is about. */
  readonly log: string;
  readonly seq: number;
  /** `sha256:` + base64url of the checkpoint line's bytes: the next line's `prev`. */
  readonly hash: string;
  readonly ts: string;
}

/** Writes the anchor atomically (temp file, then rename), mode 0600. */
export function writeAnchor(path: string, anchor: AuditAnchor): void {
  writeFileAtomic(path, `${JSON.stringify(anchor)}\n`, 0o600);
}

/**
 * The anchor at `path`, or undefined when there is none yet. Refuses (KEY_INVALID) an anchor that is a symbolic
 * link, not a regular file, writable by group or others, or not an anchor: whoever could rewrite it could hide a cut.
 */
export function readAnchor(path: string): AuditAnchor | undefined {
  let text: string;
  try {
    const st = lstatSync(path);
    if (!st.isFile())
      throw new GatekitError('KEY_INVALID', `audit anchor ${path} is not a regular file`, {
        hint: 'remove it; the daemon writes a new one at its next checkpoint',
      });
    if ((st.mode & 0o022) !== 0)
      throw new GatekitError(
        'KEY_INVALID',
        `audit anchor ${path} is writable by others (mode ${(st.mode & 0o777).toString(8)})`,
        { hint: `run: chmod 600 ${path}` },
      );
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (cause) {
    if (cause instanceof GatekitError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GatekitError(
      'KEY_INVALID',
      `cannot read the audit anchor ${path}: ${(cause as NodeJS.ErrnoException).code}`,
      { cause },
    );
  }
  let doc: Partial<Record<keyof AuditAnchor, unknown>>;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = {};
  }
  const { log, seq, hash, ts } = doc ?? {};
  if (typeof log !== 'string' || !Number.isSafeInteger(seq) || (seq as number) < 1 || typeof hash !== 'string')
    throw new GatekitError('KEY_INVALID', `audit anchor ${path} is not an audit anchor`, {
      hint: 'check what replaced it; remove it only once "gatekit audit verify" of the log passes',
    });
  return { log, seq: seq as number, hash, ts: typeof ts === 'string' ? ts : '' };
}

/**
 * Why a log whose last line is `last` (its seq, or none for an empty log) cannot be the one `anchor` sealed, or
 * undefined when it can be. `hashAt` gives the hash of the line with a given seq, when it is at hand.
 */
export function anchorProblem(
  anchor: AuditAnchor,
  anchorPath: string,
  logPath: string,
  last: { readonly seq: number } | undefined,
  hashAt: (seq: number) => string | undefined,
): string | undefined {
  if (last === undefined || last.seq < anchor.seq) {
    const ends = last === undefined ? 'has no lines' : `ends at seq ${last.seq}`;
    return `the audit log ${logPath} ${ends}, before the checkpoint at seq ${anchor.seq} that its anchor ${anchorPath} recorded (${anchor.ts}): lines were cut`;
  }
  const hash = hashAt(anchor.seq);
  if (hash !== undefined && hash !== anchor.hash)
    return `the line at seq ${anchor.seq} of the audit log ${logPath} is not the checkpoint its anchor ${anchorPath} recorded (${anchor.ts}): the log was replaced`;
  return undefined;
}
