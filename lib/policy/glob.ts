const cache = new Map<string, RegExp>();

/** Matches a tool name against a glob where `*` is any run of characters and `?` one character. */
export function globMatch(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  let re = cache.get(pattern);
  if (re === undefined) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    cache.set(pattern, re);
  }
  return re.test(name);
}

export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => globMatch(p, name));
}
