import { randomFillSync } from 'node:crypto';

/** The trace fields of an audit line; `traceparent` is what the child receives. */
export interface TraceContext {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id?: string;
  readonly traceparent: string;
}

// Version 00 only, lower-case hex, exactly 55 characters; all-zero ids are invalid.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Parses a W3C `traceparent` strictly; anything else (another version, upper case, zero ids,
 * extra text, not a string) is undefined and ignored.
 * @see https://www.w3.org/TR/trace-context/#traceparent-header
 */
export function parseTraceparent(value: unknown): { traceId: string; parentId: string; flags: string } | undefined {
  if (typeof value !== 'string' || value.length !== 55) return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, parentId: m[2]!, flags: m[3]! };
}

// One getrandom(2) per 170 requests instead of two per request.
const pool = Buffer.alloc(4080);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}

/**
 * The daemon's own span for one request: under the caller's trace when `incoming` is a valid
 * traceparent (from params._meta, MCP SEP-414, or the HTTP header), else in a new trace.
 */
export function nextTrace(incoming: unknown): TraceContext {
  const parent = parseTraceparent(incoming);
  const trace_id = parent?.traceId ?? randomHex(16);
  const span_id = randomHex(8);
  const traceparent = `00-${trace_id}-${span_id}-${parent?.flags ?? '00'}`;
  return parent
    ? { trace_id, span_id, parent_span_id: parent.parentId, traceparent }
    : { trace_id, span_id, traceparent };
}
