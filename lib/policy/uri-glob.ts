type Token = { readonly kind: 'char'; readonly c: string } | { readonly kind: '*' | '**' };

const compiled = new Map<string, readonly Token[]>();
const COMPILED_MAX = 4096;

function compile(pattern: string): readonly Token[] {
  let tokens = compiled.get(pattern);
  if (tokens) return tokens;
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      let n = 1;
      while (pattern[i + 1] === '*') (i++, n++);
      const kind = n > 1 ? '**' : '*';
      // `***` is `**`; `*` next to `**` adds nothing.
      const prev = out[out.length - 1];
      if (prev?.kind === '**') continue;
      if (prev?.kind === '*' && kind === '**') out[out.length - 1] = { kind };
      else if (!(prev?.kind === '*' && kind === '*')) out.push({ kind });
    } else out.push({ kind: 'char', c });
  }
  tokens = out;
  if (compiled.size >= COMPILED_MAX) compiled.clear();
  compiled.set(pattern, tokens);
  return tokens;
}

/** The states (token positions) reachable without reading a character: a star may match nothing. */
function closure(tokens: readonly Token[], states: Set<number>): Set<number> {
  for (const s of states) {
    const t = tokens[s];
    if (t && (t.kind === '*' || t.kind === '**')) states.add(s + 1);
  }
  return states;
}

function step(tokens: readonly Token[], states: Set<number>, c: string): Set<number> {
  const next = new Set<number>();
  for (const s of states) {
    const t = tokens[s];
    if (!t) continue;
    if (t.kind === '**') next.add(s);
    else if (t.kind === '*') {
      if (c !== '/') next.add(s);
    } else if (t.kind === 'char' && t.c === c) next.add(s + 1);
  }
  return closure(tokens, next);
}

function run(pattern: string, text: string): { tokens: readonly Token[]; states: Set<number> } {
  const tokens = compile(pattern);
  let states = closure(tokens, new Set([0]));
  for (let i = 0; i < text.length && states.size > 0; i++) states = step(tokens, states, text[i]!);
  return { tokens, states };
}

/**
 * Matches a normalised URI against a glob: `**` any run of characters, `*` any run without `/`; every other
 * character is itself (`?` too: it starts a URI's query). A set of states is stepped over the URI once, never backtracking: O(URI length × pattern length).
 */
export function uriGlobMatch(pattern: string, uri: string): boolean {
  const { tokens, states } = run(pattern, uri);
  return states.has(tokens.length);
}

/** Could some URI that starts with `prefix` match the glob? */
export function uriGlobMayMatch(pattern: string, prefix: string): boolean {
  return run(pattern, prefix).states.size > 0;
}

/** Does the glob match every URI that starts with `prefix` (the rest of the pattern is a `**`)? */
export function uriGlobCovers(pattern: string, prefix: string): boolean {
  const { tokens, states } = run(pattern, prefix);
  for (const s of states) if (s === tokens.length - 1 && tokens[s]!.kind === '**') return true;
  return false;
}
