import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { METHOD_GATES } from '../lib/daemon/method-gates.js';
import { ROUTES } from '../lib/daemon/steps/methods.js';
import { CLIENT_REQUESTS, isExtensionMethod } from '../lib/mcp/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

describe('the gate is the only way to a child (lib/daemon/gate.ts)', () => {
  it('only gate.ts makes an Admitted message, and McpChild.send takes nothing else', () => {
    const casting = sources('lib').filter((f) =>
      /as (unknown as )?Admitted\b/.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    assert.deepEqual(casting, [join('lib', 'daemon', 'gate.ts')]);
    const child = readFileSync(join(ROOT, 'lib/daemon/child.ts'), 'utf8');
    assert.match(child, /\n  send\(message: Admitted\): void \{/);
    const writers = sources('lib').filter((f) => /stdin!?\.write\(/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(
      writers.map((f) => relative(ROOT, join(ROOT, f))),
      [join('lib', 'daemon', 'child.ts')],
      "only the child's own #write, behind send, touches a child's stdin",
    );
  });

  it('every method the gate table or the route table names is a request MCP defines for a client', () => {
    // A misspelt entry would gate or route nothing, silently: the method would take the default path.
    for (const method of [...METHOD_GATES.keys(), ...ROUTES.keys()])
      assert.ok(CLIENT_REQUESTS.has(method), `${method} is not in lib/mcp CLIENT_REQUESTS`);
    assert.ok(METHOD_GATES.get('tools/call')?.admit, 'tools/call has its own gate');
    assert.ok(METHOD_GATES.get('tools/list')?.results, 'a tools/list answer is filtered by the gate');
  });

  it('an extension method passes; no spelling of an MCP method does', () => {
    for (const method of ['x-vendor/report', 'acme.search', 'tools/call2'])
      assert.equal(isExtensionMethod(method), true, method);
    for (const method of [
      'tools/call',
      'Tools/Call',
      'tools/call ',
      ' tools/call',
      'tools.call',
      'tools_call',
      'TOOLS/CALL',
      'tools/\u0441all',
      'tools\uff0fcall',
      'notifications/tools/call',
      'Notifications/Initialized',
      'sampling/createMessage',
      '',
      'x'.repeat(201),
    ])
      assert.equal(isExtensionMethod(method), false, JSON.stringify(method));
  });
});
