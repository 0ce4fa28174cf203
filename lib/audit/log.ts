import { closeSync, fdatasyncSync, fstatSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatekitError } from '../errors.js';
import { anchorProblem, readAnchor, writeAnchor, type AuditAnchor } from './anchor.js';
import { chainTail, hashLine, seqOf, tailLines } from './chain.js';
import { signCompact, type AuditSigner } from './key.js';
import type { AuditEvent } from './event.js';
import { isRotated, openAuditFile } from './file.js';
import { serialize } from './serialize.js';

export type CheckpointReason = 'lines' | 'interval' | 'stop' | 'reload' | 'rotate';

export interface AuditLogOptions {
  /** 0640 instead of 0600 for a new file: [daemon] socket_group is set, so the group may read it. */
  readonly groupReadable?: boolean;
  /** Signs checkpoints; without one the chain is kept but nothing is sealed. */
  readonly signer?: AuditSigner | undefined;
  /** A checkpoint after this many lines or seconds, whichever comes first ([daemon] audit_checkpoint). */
  readonly checkpoint?: { readonly lines: number; readonly interval: number };
  /**
   * The anchor file ([daemon] audit_anchor): each checkpoint's (seq, hash) is written there once the checkpoint is on
   * disk, and a log that ends before it, or belongs to another log, is refused at start (CONFLICT).
   */
  readonly anchor?: string | undefined;
  /** Where failures and recoveries are told (the daemon's stderr). */
  readonly say?: (line: string) => void;
  /**
   * false: plain JSON lines, no `seq`/`prev`, no checkpoints — only for bench/daemon.ts to measure what the
   * chain costs (no config key turns it off). Default true.
   */
  readonly chain?: boolean;
}

/** Lines kept in memory while the file cannot be written; new requests are refused meanwhile. */
const MAX_QUEUED = 10_000;

/**
 * Appends hash-chained JSON lines to the audit file (or stdout for "-"): each line carries `seq`
 * and `prev`, the hash of the line before (across rotations and restarts), and signed checkpoints
 * seal the chain. One write(2) per line. A line that cannot be written stays queued, in order,
 * and `failure` says why until a retry succeeds (fail closed: the daemon refuses requests meanwhile).
 * A file removed under the daemon is recreated at the same path, its first line chained to the last.
 * The file is never reached through a symbolic link and must be a regular file, created 0600 (0640 with a group).
 */
export class AuditLog {
  readonly #path: string;
  readonly #mode: number;
  readonly #options: AuditLogOptions;
  #fd: number;
  #seq: number;
  #prev: string;
  /** Lines not yet written: text, or the rest of one after a short write(2) (from #offset). */
  readonly #queue: Array<string | Buffer> = [];
  #offset = 0;
  #lost = 0;
  #recreated = false;
  #closed = false;
  #linkChecked = false;
  #failure: string | undefined;
  #writeFailures = 0;
  /** A checkpoint written to the queue whose anchor is not yet written (it is, once the queue is on disk). */
  #unanchored: AuditAnchor | undefined;
  #anchorFailure: string | undefined;
  /** The unanchored checkpoint is a stop, reload or rotation's: the log is synced to disk before the anchor. */
  #durable = false;
  #sinceCheckpoint = 0;
  #lastCheckpoint = Date.now();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(path: string, options: AuditLogOptions = {}) {
    this.#path = path;
    this.#options = options;
    this.#mode = options.groupReadable ? 0o640 : 0o600;
    this.#fd = openAuditFile(this.#path, this.#mode);
    const fresh = path === '-' || options.chain === false;
    const tail = fresh ? [] : tailLines(this.#fd);
    ({ seq: this.#seq, prev: this.#prev } = chainTail(tail));
    if (!fresh && options.anchor !== undefined) {
      try {
        checkAnchor(options.anchor, path, tail, this.#seq);
      } catch (err) {
        closeSync(this.#fd);
        throw err;
      }
    }
    const interval = options.checkpoint?.interval;
    if (interval !== undefined || path !== '-') {
      this.#timer = setInterval(() => this.#tick(), Math.min(1000, (interval ?? 1) * 1000));
      this.#timer.unref();
    }
  }

  /** Why the log cannot be written right now (after one more try), or undefined when it can. */
  get failure(): string | undefined {
    if (this.#failure !== undefined) this.#flush();
    return this.#failure;
  }

  /** Write attempts that failed so far, retries included (the daemon's metrics). */
  get writeFailures(): number {
    return this.#writeFailures;
  }

  write(event: AuditEvent): void {
    this.#append(new Date().toISOString(), event);
    const every = this.#options.checkpoint?.lines;
    if (++this.#sinceCheckpoint >= (every ?? Infinity)) this.checkpoint('lines');
  }

  /** Writes a signed checkpoint sealing every line so far (RFC 7515 JWS over seq and the chain hash). */
  checkpoint(reason: CheckpointReason): void {
    const signer = this.#options.signer;
    if (!signer || this.#options.chain === false) return;
    const ts = new Date().toISOString();
    const sig = signCompact(signer, { seq: this.#seq, prev: this.#prev, ts, reason });
    this.#append(ts, { event: 'audit.checkpoint', reason, kid: signer.kid, sig });
    this.#sinceCheckpoint = 0;
    this.#lastCheckpoint = Date.now();
    if (this.#options.anchor === undefined || this.#path === '-') return;
    this.#unanchored = { log: resolve(this.#path), seq: this.#seq - 1, hash: this.#prev, ts };
    this.#durable ||= reason !== 'lines' && reason !== 'interval';
    if (this.#queue.length === 0) this.#anchor();
  }

  /**
   * Records the last checkpoint in the anchor file. At stop, reload and rotation the log's bytes reach the disk first
   * (fdatasync), so that the anchor never claims a line a power loss could take; the checkpoints every `lines` or
   * `interval` skip that (an fdatasync is milliseconds, on the request that happens to cross the count): after a power
   * loss the anchor may then be ahead of the log, and the daemon refuses to start as for a cut. Not fatal: the log
   * itself is still written; a failure is told once.
   */
  #anchor(): void {
    const anchor = this.#unanchored;
    if (anchor === undefined) return;
    this.#unanchored = undefined;
    const durable = this.#durable;
    this.#durable = false;
    try {
      if (durable) fdatasyncSync(this.#fd);
      writeAnchor(this.#options.anchor!, anchor);
      if (this.#anchorFailure !== undefined) this.#options.say?.(`audit anchor ${this.#options.anchor} written again`);
      this.#anchorFailure = undefined;
    } catch (err) {
      const why = `cannot write the audit anchor ${this.#options.anchor}: ${(err as NodeJS.ErrnoException).code ?? err}`;
      if (this.#anchorFailure === undefined) this.#options.say?.(why);
      this.#anchorFailure = why;
    }
  }

  /** SIGHUP: seal the old file (a rotation when the path now names another file), then open the path anew. */
  reopen(): void {
    if (this.#path === '-') return this.checkpoint('reload');
    this.checkpoint(isRotated(this.#fd, this.#path) ? 'rotate' : 'reload');
    this.#flush();
    const next = openAuditFile(this.#path, this.#mode);
    const previous = this.#fd;
    this.#fd = next;
    closeSync(previous);
    this.#flush();
  }

  close(): void {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#closed = true;
    this.checkpoint('stop');
    this.#flush();
    if (this.#failure !== undefined)
      this.#options.say?.(`audit log: ${this.#queue.length} line(s) could not be written`);
    if (this.#path !== '-') closeSync(this.#fd);
  }

  /**
   * One line: `seq`, `prev` (chained only), `ts`, then the event's fields, in that order. The head is written as
   * text in front of the event's own JSON: copying a 20-field event into a new object made V8 keep it as a
   * dictionary, and serializing that cost more than the rest of the line.
   */
  #append(ts: string, event: Readonly<Record<string, unknown>>): void {
    if (this.#closed && event['event'] !== 'audit.checkpoint') return; // a second stop() has nothing left to say
    const chain = this.#options.chain !== false;
    // seq, prev and ts are the log's, never taken from the event's own fields (none of auditLine's has them).
    if ('seq' in event || 'prev' in event || 'ts' in event) {
      const { seq: _seq, prev: _prev, ts: _ts, ...rest } = event;
      return this.#append(ts, rest);
    }
    const body = serialize(event);
    const fields = body === '{}' ? '}' : `,${body.slice(1)}`;
    // ts is an ISO 8601 string and prev "sha256:" + base64url: neither needs JSON escaping.
    if (!chain) return this.#enqueue(`{"ts":"${ts}"${fields}`);
    const line = `{"seq":${this.#seq},"prev":"${this.#prev}","ts":"${ts}"${fields}`;
    this.#seq++;
    this.#prev = hashLine(line);
    this.#enqueue(line);
  }

  #enqueue(line: string): void {
    if (this.#queue.length >= MAX_QUEUED) {
      this.#lost++;
      return;
    }
    this.#queue.push(`${line}\n`);
    this.#flush();
  }

  #flush(): void {
    try {
      if (this.#path !== '-' && this.#queue.length > 0 && this.#isUnlinked()) this.#recreate();
      while (this.#queue.length > 0) {
        let head = this.#queue[0]!;
        if (typeof head === 'string') {
          // The common case: the whole line in one write(2), with no Buffer made for it.
          const written = writeSync(this.#fd, head);
          if (written === Buffer.byteLength(head)) {
            this.#queue.shift();
            continue;
          }
          head = this.#queue[0] = Buffer.from(head);
          this.#offset = written;
        }
        this.#offset += writeSync(this.#fd, head, this.#offset, head.length - this.#offset);
        if (this.#offset === head.length) {
          this.#queue.shift();
          this.#offset = 0;
        }
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const why = `cannot write the audit log ${this.#path}: ${code}`;
      this.#writeFailures++;
      if (this.#failure === undefined) this.#options.say?.(`${why}; refusing new requests until it can (503)`);
      this.#failure = why;
      return;
    }
    this.#anchor();
    if (this.#recreated) {
      this.#recreated = false;
      this.write({ event: 'audit.reopened', reason: 'the audit file was removed' });
    }
    if (this.#failure === undefined) return;
    this.#failure = undefined;
    this.#options.say?.(`audit log ${this.#path} writable again; serving requests`);
    if (this.#lost > 0) {
      const lost = this.#lost;
      this.#lost = 0;
      this.write({ event: 'audit.lost', lines: lost });
    }
  }

  /** The file was unlinked under us: a new one at the path, its first line chained to the last of the old. */
  #recreate(): void {
    const next = openAuditFile(this.#path, this.#mode);
    closeSync(this.#fd);
    this.#fd = next;
    this.#recreated = true;
    this.#options.say?.(`audit log ${this.#path} was removed; writing a new file chained to the old one`);
  }

  /** Was the file removed? Asked once per event-loop turn: an fstat(2) per line would cost more than the hash. */
  #isUnlinked(): boolean {
    if (this.#linkChecked) return false;
    this.#linkChecked = true;
    setImmediate(() => {
      this.#linkChecked = false;
    });
    return fstatSync(this.#fd).nlink === 0;
  }

  #tick(): void {
    if (this.#failure !== undefined) this.#flush();
    const interval = this.#options.checkpoint?.interval;
    if (interval !== undefined && this.#sinceCheckpoint > 0 && Date.now() - this.#lastCheckpoint >= interval * 1000) {
      this.checkpoint('interval');
    }
  }
}

/** Refuses (CONFLICT) a log that ends before its anchor, whose anchored line differs, or an anchor of another log. */
function checkAnchor(anchorPath: string, logPath: string, tail: readonly string[], nextSeq: number): void {
  const anchor = readAnchor(anchorPath);
  if (anchor === undefined) return;
  if (resolve(anchor.log) !== resolve(logPath))
    throw new GatekitError('CONFLICT', `the audit anchor ${anchorPath} belongs to ${anchor.log}, not to ${logPath}`, {
      hint: `give this daemon its own [daemon] audit_anchor, or remove ${anchorPath} if ${anchor.log} is retired`,
    });
  const last = tail.length === 0 ? undefined : { seq: nextSeq - 1 };
  const hashAt = (seq: number) => {
    const line = tail.findLast((l) => seqOf(l) === seq);
    return line === undefined ? undefined : hashLine(line);
  };
  const problem = anchorProblem(anchor, anchorPath, logPath, last, hashAt);
  if (problem)
    throw new GatekitError('CONFLICT', `refusing to start: ${problem}`, {
      hint:
        `run "gatekit audit verify" to see what is missing; a log moved aside on purpose goes back to ${logPath} ` +
        `(or keep it and remove ${anchorPath}, and the next daemon starts a new anchor)`,
    });
}
