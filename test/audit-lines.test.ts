import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const LIB = fileURLToPath(new URL('../../lib', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('typed audit lines', () => {
  it('no module outside lib/audit spells an audit event by hand: each line comes from auditLine or resultLine', () => {
    const byHand = sources(LIB)
      .filter((file) => !relative(LIB, file).startsWith('audit'))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => [`${relative(LIB, file)}:${i + 1}`, line] as const)
          .filter(([, line]) => /\bevent: '[a-z.]+'|as AuditEvent\b/.test(line))
          .map(([where]) => where),
      );
    assert.deepEqual(byHand, []);
  });
});
