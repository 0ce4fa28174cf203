/** Tool names longer than this are never allowed: they are refused at tools/call and dropped from tools/list. */
export const MAX_TOOL_NAME_LENGTH = 256;

interface CompiledGlob {
  /** The pattern split at each `*`; `?` inside a segment stands for any one character. */
  readonly segments: readonly string[];
  readonly hasStar: boolean;
}

const compiled = new Map<string, CompiledGlob>();
const COMPILED_MAX = 4096;

function compile(pattern: string): CompiledGlob {
  let glob = compiled.get(pattern);
  if (glob === undefined) {
    // Runs of stars are one star; no regular expression is ever built from a pattern.
    const segments = pattern.split('*');
    glob = { segments, hasStar: segments.length > 1 };
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(pattern, glob);
  }
  return glob;
}

/** Does `segment` (with `?` as any one character) match `name` at `at`? */
function segmentAt(segment: string, name: string, at: number): boolean {
  if (at + segment.length > name.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c !== 63 /* ? */ && c !== name.charCodeAt(at + i)) return false;
  }
  return true;
}

/**
 * Matches a tool name against a glob where `*` is any run of characters and `?` one character.
 * No backtracking: the first segment is anchored at the start, the last at the end, and each middle
 * segment is taken at its leftmost place after the previous one (leftmost is always safe, since a
 * later `*` can absorb whatever an earlier choice leaves). Every start position is tried at most
 * once per segment, so the cost is O(name length × pattern length) whatever the input.
 */
export function globMatch(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  const { segments, hasStar } = compile(pattern);
  if (!hasStar) return pattern.length === name.length && segmentAt(pattern, name, 0);
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  if (first.length + last.length > name.length) return false;
  if (!segmentAt(first, name, 0) || !segmentAt(last, name, name.length - last.length)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (let s = 1; s < segments.length - 1; s++) {
    const segment = segments[s]!;
    if (segment === '') continue;
    let found = -1;
    for (let start = at; start + segment.length <= end; start++) {
      if (segmentAt(segment, name, start)) {
        found = start;
        break;
      }
    }
    if (found < 0) return false;
    at = found + segment.length;
  }
  return true;
}

export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => globMatch(p, name));
}
