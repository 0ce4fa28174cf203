import { closeSync, fstatSync, openSync, readSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { GatekitError } from '../errors.js';
import { escapeUnsafe } from './serialize.js';

export interface TailOptions {
  readonly user?: string | undefined;
  readonly server?: string | undefined;
  /** Only lines at or after this time (ms since the epoch). */
  readonly since?: number | undefined;
  /** Print each line as JSON (parsed and written again, unsafe characters escaped), instead of a table. */
  readonly json: boolean;
  /** ANSI colour for the outcome column: only at a terminal and without NO_COLOR (the caller decides). */
  readonly color: boolean;
  /** Keep printing lines as they are appended, until `signal` aborts; follows a rotation by name. */
  readonly follow: boolean;
  readonly signal?: AbortSignal | undefined;
}

const COLORS: Readonly<Record<string, string>> = { ok: '\x1b[32m', error: '\x1b[31m', denied: '\x1b[33m' };
// Hostile tool names and errors may carry terminal escapes or reorder what is shown (bidi controls, CVE-2021-42574):
// no C0/C1 control, DEL, line or paragraph separator, bidi control or mark reaches the screen.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function cell(value: unknown, width: number): string {
  const text = value === undefined || value === null ? '-' : String(value).replace(CONTROL, '?');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** One audit line as a table row (or as it is, with `json`); undefined when the filters leave it out. */
export function formatAuditLine(raw: string, options: TailOptions): string | undefined {
  let line: Record<string, unknown> | undefined;
  try {
    line = JSON.parse(raw);
  } catch {
    line = undefined;
  }
  if (typeof line !== 'object' || line === null || Array.isArray(line))
    return options.json ? undefined : `? ${cell(raw, 100)}`;
  if (options.user !== undefined && line['user'] !== options.user) return undefined;
  if (options.server !== undefined && line['server'] !== options.server) return undefined;
  if (options.since !== undefined && !(Date.parse(String(line['ts'])) >= options.since)) return undefined;
  // Not the file's bytes: a line written by another program may hold raw controls, duplicate keys or odd spacing.
  if (options.json) return escapeUnsafe(JSON.stringify(line));
  const outcome = cell(line['outcome'], 7);
  const color = options.color && typeof line['outcome'] === 'string' ? COLORS[line['outcome']] : undefined;
  const what = line['tool'] ?? line['method'] ?? line['reason'];
  const ms = typeof line['duration_ms'] === 'number' ? `${line['duration_ms']}` : '';
  return [
    cell(
      String(line['ts'] ?? '')
        .replace('T', ' ')
        .slice(0, 23),
      23,
    ),
    cell(line['event'], 16),
    cell(line['user'], 24),
    cell(line['server'], 12),
    cell(what, 24),
    color ? `${color}${outcome}\x1b[0m` : outcome,
    ms,
  ]
    .join('  ')
    .trimEnd();
}

/** Parses `--since`: a duration back from `now` ("10m", "2h") or an RFC 3339 time. */
export function parseSince(value: string, parseDuration: (v: string) => number | undefined, now = Date.now()): number {
  const seconds = parseDuration(value);
  if (seconds !== undefined) return now - seconds * 1000;
  const at = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at))
    throw new GatekitError('USAGE', `--since "${value.slice(0, 40)}" is neither a duration nor an RFC 3339 time`, {
      hint: 'e.g. --since 10m or --since 2026-01-31T12:00:00Z',
    });
  return at;
}

/** `gatekit audit tail`: prints the lines of `file` through the filters, then (with follow) new ones. */
export async function tailAudit(file: string, options: TailOptions, out: (text: string) => void): Promise<void> {
  let inode: number | undefined;
  let offset = 0;
  let partial = '';
  const readMore = () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (cause) {
      if (inode === undefined)
        throw new GatekitError(
          'NOT_FOUND',
          `cannot read the audit log ${file}: ${(cause as NodeJS.ErrnoException).code}`,
          { cause },
        );
      return; // rotated away; the new file appears soon
    }
    try {
      const st = fstatSync(fd);
      if (st.ino !== inode || st.size < offset) {
        inode = st.ino;
        offset = 0;
        partial = '';
      }
      if (st.size === offset) return;
      const buffer = Buffer.alloc(st.size - offset);
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      offset += n;
      const lines = (partial + buffer.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      const shown = lines
        .filter(Boolean)
        .map((l) => formatAuditLine(l, options))
        .filter((l) => l !== undefined);
      if (shown.length > 0) out(`${shown.join('\n')}\n`);
    } finally {
      closeSync(fd);
    }
  };
  if (!options.follow) return readMore();
  // Watch before the first read, so a line appended in between is not missed.
  const watcher = watch(dirname(file), (_type, name) => {
    if (name === null || name === basename(file)) readMore();
  });
  try {
    readMore();
  } catch (err) {
    watcher.close();
    throw err;
  }
  await new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  watcher.close();
}
