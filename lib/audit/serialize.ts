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
 * `JSON.stringify(fields, capped)`, byte for byte, without paying for the replacer on every line: a
 * replacer takes V8's slow serializer. A line no longer than the cap holds no string over it.
 */
export function serialize(fields: object): string {
  const plain = JSON.stringify(fields);
  return plain.length > MAX_FIELD_LENGTH && hasLongString(fields) ? JSON.stringify(fields, capped) : plain;
}
