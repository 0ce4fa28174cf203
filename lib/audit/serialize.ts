/** Longest string an audit line carries in any field; a hostile tool name or method cannot bloat a line. */
export const MAX_FIELD_LENGTH = 512;

function capped(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.length <= MAX_FIELD_LENGTH) return value;
  return `${value.slice(0, MAX_FIELD_LENGTH)}…[${value.length - MAX_FIELD_LENGTH} more chars]`;
}

/** Is any string value, at any depth, over the cap? Iterative: hostile arguments may nest deeply. */
function hasLongString(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.length > MAX_FIELD_LENGTH) return true;
    } else if (typeof value === 'object' && value !== null) {
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true; // its JSON is not walked here
      for (const key in value) stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/**
 * Characters JSON.stringify leaves raw that a terminal, an editor or a log viewer may act on: C1 controls and DEL,
 * the line and paragraph separators, and the bidirectional controls (CVE-2021-42574, "Trojan Source").
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_ALL = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const escapeOne = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * JSON text with the UNSAFE characters written as `\uXXXX`: it parses to the same value. Outside strings JSON text is
 * ASCII, so every such character is inside a string, where the escape means the character itself. One regex test
 * on the common path; the replace only for a line that has one.
 */
export function escapeUnsafe(json: string): string {
  return UNSAFE.test(json) ? json.replace(UNSAFE_ALL, escapeOne) : json;
}

/**
 * `JSON.stringify(fields, capped)`, byte for byte but for the escapes of `escapeUnsafe`, without paying for the
 * replacer on every line: a replacer takes V8's slow serializer. A line no longer than the cap holds no string over it.
 */
export function serialize(fields: object): string {
  const plain = JSON.stringify(fields);
  return escapeUnsafe(
    plain.length > MAX_FIELD_LENGTH && hasLongString(fields) ? JSON.stringify(fields, capped) : plain,
  );
}
