import { hash } from 'node:crypto';
import { fstatSync, readSync } from 'node:fs';

/** `prev` of the first line of a new chain: the hash of no bytes. */
export const GENESIS = `sha256:${hash('sha256', '', 'base64url')}`;

/**
 * "sha256:<base64url>" of one audit line's exact bytes, without its newline. The one-shot crypto.hash
 * (a string is hashed as its UTF-8 bytes, as Hash#update does) costs a fraction of a Hash object per line.
 */
export function hashLine(line: string | Buffer): string {
  return `sha256:${hash('sha256', line, 'base64url')}`;
}

/**
 * RFC 8785 JSON Canonicalization Scheme: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings as ECMAScript JSON.stringify writes them. `undefined` members are left out. Nesting deeper
 * than `depth` is a RangeError, never a stack overflow (the daemon's gate refuses client JSON deeper than 64 first).
 * @see https://www.rfc-editor.org/rfc/rfc8785
 */
export function canonicalJson(value: unknown, depth = 256): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('JCS has no NaN or Infinity');
    return JSON.stringify(value) ?? 'null';
  }
  if (depth === 0) throw new RangeError('JSON nests too deep to canonicalize');
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++)
      out += `${i ? ',' : ''}${canonicalJson(value[i] === undefined ? null : value[i], depth - 1)}`;
    return `${out}]`;
  }
  out = '{';
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(member, depth - 1)}`;
  }
  return `${out}}`;
}

/** `args_digest` of a tools/call: SHA-256 over the RFC 8785 form of its arguments (absent: `{}`). */
export function argumentsDigest(args: unknown): string {
  return `sha256:${hash('sha256', canonicalJson(args ?? {}), 'base64url')}`;
}

export interface ChainPosition {
  readonly seq: number;
  readonly prev: string;
}

const TAIL_BYTES = 64 * 1024;

/** The complete lines in the last 64 KiB of an audit file, oldest first (a first line that may be cut is left out). */
export function tailLines(fd: number): string[] {
  const size = fstatSync(fd).size;
  if (size === 0) return [];
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, size - length);
  const lines = buffer.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (length < size) lines.shift(); // the first one may be cut
  return lines;
}

/**
 * Where an existing audit file's chain stands: the next `seq` and the hash of its last line, from `tailLines` (at
 * most the last 64 KiB, so a large log costs nothing at start). A file with no complete line starts a new chain
 * (GENESIS). A last line that is not ours (no `seq`) still links by its hash.
 */
export function chainTail(lines: readonly string[]): ChainPosition {
  const last = lines.at(-1);
  if (last === undefined) return { seq: 1, prev: GENESIS };
  for (let i = lines.length - 1; i >= 0; i--) {
    const seq = seqOf(lines[i]!);
    if (seq !== undefined) return { seq: seq + (lines.length - i), prev: hashLine(last) };
  }
  return { seq: 1, prev: hashLine(last) };
}

/** The `seq` of an audit line, or undefined when it has none. */
export function seqOf(line: string): number | undefined {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return Number.isSafeInteger(seq) ? (seq as number) : undefined;
  } catch {
    return undefined;
  }
}
