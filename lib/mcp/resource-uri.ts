/** Resource URIs longer than this are refused: no glob is ever run over more. */
const MAX_URI_LENGTH = 8192;

export type Normalised = { readonly uri: string } | { readonly why: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
// %2F and %5C are separators a server may decode after we judged the path, %2E a dot that may become a `..`
// segment, %25 a second round of decoding, %00 a NUL: each could make the server read another path than we matched.
const REFUSED_ESCAPES = new Set(['2F', '5C', '2E', '25', '00']);
// Decoded, these would change where the path ends; they stay escaped (upper case) in the normal form.
const KEPT_ESCAPES = new Set(['3F', '23']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The form a resource URI is judged in (RFC 3986 §6.2.2, stricter): the scheme and authority lower case; in the
 * path, percent-escapes decoded (but `%3F` and `%23`), `.` segments and empty segments (`//`) removed. Refused
 * (never matched around): no scheme, control characters, spaces or `\`, a `..` segment, an escaped separator or dot
 * (`%2F`, `%5C`, `%2E`, `%25`, `%00`), a malformed escape or one that is not UTF-8; in the query and fragment too,
 * a `..` segment or such an escape. Otherwise the query and fragment stay as written. Lexical: what a `file:` URI's path leads to on disk (a symlink) is the server's business.
 */
export function normaliseUri(uri: unknown): Normalised {
  if (typeof uri !== 'string' || uri === '') return { why: 'is not a string' };
  if (uri.length > MAX_URI_LENGTH) return { why: `is longer than ${MAX_URI_LENGTH} characters` };
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return { why: 'contains a space, a control character or "\\"' };
  }
  const scheme = SCHEME.exec(uri);
  if (!scheme) return { why: 'has no scheme' };
  const rest = uri.slice(scheme[0].length);
  const end = firstOf(rest, '?#');
  const tail = rest.slice(end);
  let hier = rest.slice(0, end);
  let authority = '';
  if (hier.startsWith('//')) {
    const slash = hier.indexOf('/', 2);
    authority = `//${(slash < 0 ? hier.slice(2) : hier.slice(2, slash)).toLowerCase()}`;
    hier = slash < 0 ? '' : hier.slice(slash);
    if (authority.includes('%')) return { why: 'has a percent-escape in its host' };
  }
  const path = decodePath(hier);
  if (typeof path !== 'string') return path;
  // A server that joins the whole URI onto a directory, or decodes it first, would resolve these in the query too.
  if (tail.split('/').includes('..')) return { why: 'has a ".." segment in its query or fragment' };
  const escaped = /%(2f|5c|2e|25|00)/i.exec(tail);
  if (escaped)
    return { why: `has a percent-encoded separator or dot (${escaped[0].toUpperCase()}) in its query or fragment` };
  return { uri: `${scheme[1]!.toLowerCase()}:${authority}${path}${tail}` };
}

function firstOf(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

function decodePath(raw: string): string | { why: string } {
  let decoded = raw;
  if (raw.includes('%')) {
    let out = '';
    let bytes: number[] = [];
    const flush = (): boolean => {
      if (bytes.length === 0) return true;
      try {
        out += utf8.decode(Uint8Array.from(bytes));
      } catch {
        return false;
      }
      bytes = [];
      return true;
    };
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== '%') {
        if (!flush()) return { why: 'has a percent-escape that is not UTF-8' };
        out += raw[i];
        continue;
      }
      const hex = raw.slice(i + 1, i + 3).toUpperCase();
      if (!/^[0-9A-F]{2}$/.test(hex)) return { why: 'has a malformed percent-escape' };
      if (REFUSED_ESCAPES.has(hex)) return { why: `has a percent-encoded separator or dot (%${hex})` };
      i += 2;
      if (KEPT_ESCAPES.has(hex)) {
        if (!flush()) return { why: 'has a percent-escape that is not UTF-8' };
        out += `%${hex}`;
        continue;
      }
      const byte = parseInt(hex, 16);
      if (byte < 0x20 || byte === 0x7f) return { why: 'has a percent-encoded control character' };
      bytes.push(byte);
    }
    if (!flush()) return { why: 'has a percent-escape that is not UTF-8' };
    decoded = out;
  }
  const segments = decoded.split('/');
  if (segments.includes('..')) return { why: 'has a ".." segment' };
  const kept: string[] = [];
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    // A `.` or empty segment goes; one at the end leaves its slash (`/a/.` is `/a/`).
    if (segment === '.' || segment === '') {
      if (last && kept.length > 0) kept.push('');
      return;
    }
    kept.push(segment);
  });
  const leading = decoded.startsWith('/') ? '/' : '';
  return leading + kept.join('/');
}

const STAR = '\ue000';

/**
 * A glob from the config in the normal form URIs are judged in (scheme and host lower case, escapes decoded, `.`
 * and `//` gone), or why no URI could ever match it. `*` and `**` survive: no step of the normal form touches them.
 */
export function normaliseUriGlob(glob: string): Normalised {
  if (/^\*+$/.test(glob)) return { uri: glob };
  if (glob.includes(STAR)) return { why: 'contains U+E000' };
  const normal = normaliseUri(glob.replaceAll('*', STAR));
  return 'why' in normal ? normal : { uri: normal.uri.replaceAll(STAR, '*') };
}

/** The literal start of an RFC 6570 URI template: everything before its first expression. */
export function templatePrefix(template: string): string {
  const brace = template.indexOf('{');
  return brace < 0 ? template : template.slice(0, brace);
}
