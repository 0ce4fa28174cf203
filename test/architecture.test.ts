import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The rows `npm run lint:imports` enforces, top to bottom (LAYERS in .dependency-cruiser.cjs). */
function checkedRows(): string[][] {
  const literal = /const LAYERS = \[([\s\S]*?)\n\];/.exec(read('.dependency-cruiser.cjs'))?.[1];
  assert.ok(literal, 'LAYERS in .dependency-cruiser.cjs');
  return [...literal.matchAll(/\[([^\]]*)\]/g)].map((m) => [...m[1]!.matchAll(/'([a-z-]+)'/g)].map((n) => n[1]!));
}

/** The rows docs/architecture.md's layer table states, top to bottom, without `bin/`. */
function documentedRows(): string[][] {
  const rows = [...read('docs/architecture.md').matchAll(/^\| \d+ \| ((?:`lib\/[a-z-]+`(?:, )?)+) \|/gm)];
  return rows.map((m) => [...m[1]!.matchAll(/`lib\/([a-z-]+)`/g)].map((n) => n[1]!));
}

/** Every `.ts` file under `dir`, relative to ROOT. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

/** Folder → the other lib folders it imports (static, type-only and dynamic imports alike). */
function folderImports(): Map<string, Set<string>> {
  const imports = new Map<string, Set<string>>();
  for (const file of sources('lib')) {
    const from = file.split('/')[1]!;
    if (!file.slice(4).includes('/')) continue; // lib/errors.ts and friends: the ground floor
    const mine = imports.get(from) ?? new Set<string>();
    imports.set(from, mine);
    for (const m of read(file).matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(join(ROOT, 'lib'), resolve(join(ROOT, dirname(file)), m[1]!)).split('/');
      if (target.length > 1 && target[0] !== from && target[0] !== '..') mine.add(target[0]!);
    }
  }
  return imports;
}

describe('docs/architecture.md says what the import check holds', () => {
  it('its layer table lists the same folders on the same rows as LAYERS', () => {
    const sorted = (rows: string[][]) => rows.map((row) => [...row].sort());
    assert.deepEqual(sorted(documentedRows()), sorted(checkedRows()));
  });

  it('every folder under lib/ has its row', () => {
    const folders = readdirSync(join(ROOT, 'lib')).filter((name) => statSync(join(ROOT, 'lib', name)).isDirectory());
    assert.deepEqual([...folders].sort(), checkedRows().flat().sort());
  });

  it('each folder sits on its floor: one row above the highest folder it imports, row 0 when it imports none', () => {
    const imports = folderImports();
    const floors = new Map<string, number>();
    const floor = (folder: string): number => {
      const known = floors.get(folder);
      if (known !== undefined) return known;
      const below = [...(imports.get(folder) ?? [])].map(floor);
      const value = below.length ? 1 + Math.max(...below) : 0;
      floors.set(folder, value);
      return value;
    };
    const rows = checkedRows();
    const misplaced = rows.flatMap((row, i) =>
      row
        .filter((folder) => floor(folder) !== rows.length - 1 - i)
        .map((folder) => `lib/${folder}: row ${rows.length - 1 - i}, floor ${floor(folder)}`),
    );
    assert.deepEqual(misplaced, [], 'move each to its floor in LAYERS and in the table');
  });
});
