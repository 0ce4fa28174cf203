import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

describe('docs/architecture.md says what the import check holds', () => {
  it('its layer table lists the same folders on the same rows as LAYERS', () => {
    const sorted = (rows: string[][]) => rows.map((row) => [...row].sort());
    assert.deepEqual(sorted(documentedRows()), sorted(checkedRows()));
  });

  it('every folder under lib/ has its row', () => {
    const folders = readdirSync(join(ROOT, 'lib')).filter((name) => statSync(join(ROOT, 'lib', name)).isDirectory());
    assert.deepEqual([...folders].sort(), checkedRows().flat().sort());
  });
});
