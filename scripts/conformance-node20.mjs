// Preload for the conformance suite's CLI on Node 20: it imports `globSync` from `node:fs` (Node 22+) and calls it
// only as globSync('**/checks.json', { cwd }) when it scores a results folder. This adds the subset it uses —
// patterns `**/NAME` and plain relative paths — before the CLI's first `import 'fs'` fixes the module's export names.
// Use: node --import ./scripts/conformance-node20.mjs node_modules/@modelcontextprotocol/conformance/dist/index.js
const fs = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');

if (typeof fs.globSync !== 'function') {
  fs.globSync = function globSync(pattern, options = {}) {
    const cwd = String(options.cwd ?? process.cwd());
    if (typeof pattern !== 'string' || /[*?[\]{}]/.test(pattern.replace(/^\*\*\//, ''))) {
      throw new TypeError(`globSync shim: unsupported pattern ${JSON.stringify(pattern)}`);
    }
    if (!pattern.startsWith('**/')) return fs.existsSync(path.resolve(cwd, pattern)) ? [pattern] : [];
    const name = pattern.slice(3);
    if (!fs.existsSync(cwd)) return [];
    return fs
      .readdirSync(cwd, { recursive: true })
      .map(String)
      .filter((entry) => path.basename(entry) === name);
  };
  process.getBuiltinModule('node:module').syncBuiltinESMExports();
}
