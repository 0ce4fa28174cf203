import { canonicalJson } from '../audit/index.js';
import { PINNED_FIELDS, pinnedPart, toolFingerprint, type ToolDefinition } from './fingerprint.js';
import type { ServerPins } from './lock.js';

/** What changed in one server's tools since they were pinned. */
export interface ToolsDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** A tool listed under a pinned name with another fingerprint, and which fields differ. */
  readonly changed: ReadonlyArray<{ readonly name: string; readonly fields: readonly string[]; readonly text: string }>;
}

/** The server's tools as listed now against its pins. */
export function diffTools(pins: ServerPins, tools: readonly ToolDefinition[]): ToolsDiff {
  const listed = new Map(tools.map((t) => [t.name, t]));
  const added = [...listed.keys()].filter((name) => !pins.tools.has(name)).sort();
  const removed = [...pins.tools.keys()].filter((name) => !listed.has(name)).sort();
  const changed = [];
  for (const [name, pin] of [...pins.tools].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const tool = listed.get(name);
    if (!tool || toolFingerprint(tool) === pin.fingerprint) continue;
    const now = pinnedPart(tool);
    const fields = PINNED_FIELDS.filter((f) => same(pin.definition[f], now[f]) === false);
    const text =
      typeof now['description'] === 'string' || typeof pin.definition['description'] === 'string'
        ? unifiedDiff(String(pin.definition['description'] ?? ''), String(now['description'] ?? ''))
        : '';
    changed.push({ name, fields: fields.length ? fields : ['(the pinned definition itself)'], text });
  }
  return { added, removed, changed };
}

/** Whether the diff shows any change. */
export function hasChanges(diff: ToolsDiff): boolean {
  return diff.added.length + diff.removed.length + diff.changed.length > 0;
}

/** The diff as a person reads it: one line per tool, and a unified diff of a changed description. */
export function renderDiff(server: string, diff: ToolsDiff): string {
  if (!hasChanges(diff)) return `servers.${server}: no change since the tools were pinned\n`;
  let out =
    `servers.${server}: ${diff.changed.length} changed, ${diff.added.length} added, ` +
    `${diff.removed.length} removed since the tools were pinned\n`;
  for (const c of diff.changed) {
    out += `~ ${c.name}: ${c.fields.join(', ')} changed\n`;
    if (c.fields.includes('description')) out += c.text;
  }
  for (const name of diff.added) out += `+ ${name}: not pinned (new)\n`;
  for (const name of diff.removed) out += `- ${name}: pinned, no longer listed\n`;
  return out;
}

function same(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a ?? null, 64) === canonicalJson(b ?? null, 64);
  } catch {
    return false;
  }
}

/** A unified-style diff of two texts by lines (longest common subsequence; descriptions are short). */
function unifiedDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 1_000_000)
    return `    --- pinned description\n    +++ listed description\n    (too long to compare line by line)\n`;
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  let out = '    --- pinned description\n    +++ listed description\n';
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out += `     ${a[i++]}\n`;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out += `    +${b[j++]}\n`;
    else out += `    -${a[i++]}\n`;
  }
  return out;
}
