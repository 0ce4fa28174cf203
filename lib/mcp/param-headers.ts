/**
 * SEP-2243 custom parameter headers: a tool's `inputSchema` marks a primitive argument with `x-mcp-header: NAME`,
 * and a 2026-07-28 `tools/call` carries that argument's value again as the header `Mcp-Param-NAME`. The client
 * derives the headers from the body (`paramHeaders`); the server checks them against the body (`paramHeaderMismatch`).
 * The rules mirror the v2 SDK's (`scanXMcpHeaderDeclarations`, `validateMcpParamHeaders`, `encodeMcpParamValue`).
 * @see https://modelcontextprotocol.io/specification/draft/basic/transports (Custom Parameter Headers)
 */

/** One `x-mcp-header` declaration: where its value is in `arguments`, the header's name, the property's type. */
export interface ParamHeader {
  readonly path: readonly string[];
  /** The header name as the tool declares it (after `Mcp-Param-`). */
  readonly name: string;
  readonly type: string | undefined;
}

const PREFIX = 'mcp-param-';
const SENTINEL_START = '=?base64?';
const SENTINEL_END = '?=';
/** RFC 9110 §5.1 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const PRIMITIVE = new Set(['string', 'integer', 'boolean', 'number']);
/** Subschemas an `x-mcp-header` may not sit under: only a chain of `properties` reaches a header's value. */
const UNREACHABLE = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
];
const KEYED = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);
/** Declarations per tool past which a schema is not read (a child could list a huge one). */
const MAX_DECLARATIONS = 64;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The `x-mcp-header` declarations of one tool's `inputSchema`: empty when it has none, undefined when the schema
 * breaks a rule (an annotation under anything but `properties`, not a token, on a non-primitive, duplicated in any
 * case): such a tool is invalid, and as the reference server does, its headers are then not checked.
 */
export function scanParamHeaders(inputSchema: unknown): ParamHeader[] | undefined {
  const found: ParamHeader[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, path: string[], reachable: boolean, depth: number): boolean => {
    if (!isObject(node)) return true;
    if (depth > 32) return false;
    if ('x-mcp-header' in node) {
      const name = node['x-mcp-header'];
      const type = typeof node['type'] === 'string' ? node['type'] : undefined;
      if (!reachable || path.length === 0 || typeof name !== 'string' || !TOKEN.test(name)) return false;
      if (type === undefined || !PRIMITIVE.has(type) || seen.has(name.toLowerCase())) return false;
      if (found.length >= MAX_DECLARATIONS) return false;
      seen.add(name.toLowerCase());
      found.push({ path, name, type });
    }
    const properties = node['properties'];
    if (isObject(properties)) {
      for (const [key, child] of Object.entries(properties))
        if (!visit(child, [...path, key], reachable, depth + 1)) return false;
    }
    for (const keyword of UNREACHABLE) {
      const sub = node[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub) ? sub : KEYED.has(keyword) && isObject(sub) ? Object.values(sub) : [sub];
      for (const branch of branches) if (!visit(branch, [...path, `<${keyword}>`], false, depth + 1)) return false;
    }
    return true;
  };
  return visit(inputSchema, [], true, 0) ? found : undefined;
}

/** A primitive argument as its header text (booleans lowercase, numbers in decimal); undefined: no header. */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  return Number.isInteger(value) && !Number.isSafeInteger(value) ? undefined : String(value);
}

const valueAt = (root: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), root);

/**
 * A header value as SEP-2243 sends it: printable ASCII as is, anything else (non-ASCII, control characters,
 * surrounding spaces, empty, or text that looks encoded) as `=?base64?…?=` around its UTF-8.
 */
export function encodeHeaderValue(value: string): string {
  const plain = value !== '' && value === value.trim() && /^[\t\x20-\x7e]*$/.test(value);
  if (plain && !(value.startsWith(SENTINEL_START) && value.endsWith(SENTINEL_END))) return value;
  return `${SENTINEL_START}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL_END}`;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A received value: literal unless wrapped as `=?base64?…?=`; undefined when the wrapped part is not canonical
 * Base64 of UTF-8 (the server must reject it). */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_START) && value.endsWith(SENTINEL_END))) return value;
  const encoded = value.slice(SENTINEL_START.length, value.length - SENTINEL_END.length);
  if (!CANONICAL_BASE64.test(encoded)) return undefined;
  try {
    return strictUtf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined;
  }
}

/** The `Mcp-Param-*` headers (lowercase names) a `tools/call` with these `arguments` carries. */
export function paramHeaders(declared: readonly ParamHeader[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { path, name } of declared) {
    const text = asText(valueAt(args, path));
    if (text !== undefined) headers[`${PREFIX}${name.toLowerCase()}`] = encodeHeaderValue(text);
  }
  return headers;
}

/**
 * Why a `tools/call`'s `Mcp-Param-*` headers disagree with its `arguments`, or undefined when they agree. For each
 * declaration whose argument is present (not null): the header must be there, decode (invalid Base64 or UTF-8 is a
 * refusal), and equal the argument's text (numerically for `integer`/`number`). A header for an absent argument, or
 * one no declaration names, is ignored. `header(name)`: the request's header by its lowercase name.
 */
export function paramHeaderMismatch(
  declared: readonly ParamHeader[],
  args: unknown,
  header: (name: string) => string | undefined,
): string | undefined {
  for (const { path, name, type } of declared) {
    const value = valueAt(args, path);
    const text = asText(value);
    if (text === undefined) continue;
    const label = `Mcp-Param-${name}`;
    const sent = header(`${PREFIX}${name.toLowerCase()}`);
    if (sent === undefined) return `the body carries ${path.join('.')} but the ${label} header is absent`;
    const decoded = decodeHeaderValue(sent);
    if (decoded === undefined) return `the ${label} header carries an invalid Base64 value`;
    const numeric = (type === 'integer' || type === 'number') && typeof value === 'number' && DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== value : decoded !== text)
      return `the ${label} header does not match the body's ${path.join('.')}`;
  }
  return undefined;
}
