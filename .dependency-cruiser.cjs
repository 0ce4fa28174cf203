/**
 * Import direction for lib/ (see docs/architecture.md, "Layers and import direction").
 * Run: `npm run lint:imports`. A folder may import only folders on a LOWER layer; two folders on the
 * same layer never import each other. Every exception is a named rule below, scoped to one file.
 */

/** Top to bottom. lib/errors.ts, lib/files.ts and lib/person.ts are the ground floor. */
const LAYERS = [
  ['cli'],
  ['bridge', 'exec', 'dev', 'doctor'],
  ['broker'],
  ['daemon', 'oidc', 'github'],
  ['provider', 'store', 'issue', 'setup'],
  ['token', 'policy', 'http', 'pins', 'clients'],
  ['config'],
  ['mcp', 'audit'],
];

/**
 * Named exceptions against the layer order: importing folder → the files it may still reach.
 * docs/architecture.md lists each one under "Known exceptions", with why and when it goes.
 */
const EXCEPTIONS_TO = {};

const folder = (name) => `^lib/${name}/`;
const group = (names) => `^lib/(${names.join('|')})/`;

/** One rule per folder: nothing on its own layer but itself, nothing above it. */
const layerRules = LAYERS.flatMap((layer, i) =>
  layer.map((name) => {
    const notBelow = [...LAYERS.slice(0, i).flat(), ...layer.filter((other) => other !== name)];
    return {
      name: `layer-${name}`,
      severity: 'error',
      comment: `lib/${name} may import only lower layers (docs/architecture.md): not ${notBelow.join(', ')}`,
      from: { path: folder(name) },
      to: { path: group(notBelow), pathNot: EXCEPTIONS_TO[name] ?? [] },
    };
  }),
);

/**
 * Files that reach past another folder's index.ts on purpose, with the one file each may reach. All are the
 * CLI's start-up path: an index.ts would load the folder's heavy siblings (docs/architecture.md).
 */
const DOOR_EXCEPTIONS = {
  'lib/cli/main.ts': ['lib/exec/agent-client.ts'],
  'lib/cli/commands/token.ts': ['lib/daemon/door.ts', 'lib/broker/binding.ts'],
  'lib/exec/agent-client.ts': ['lib/http/client.ts'],
};
const exact = (path) => `^${path.replace(/[.]/g, '\\.')}$`;
const DOORS = ['^lib/$1/', '^lib/[^/]+/index\\.ts$'];
const doorRule = (from, pathNot) => ({
  name: 'door',
  severity: 'error',
  comment: 'Another folder is entered only through its index.ts (docs/architecture.md).',
  from,
  to: { path: '^lib/[^/]+/', pathNot },
});
const doorRules = [
  doorRule({ path: '^lib/([^/]+)/', pathNot: Object.keys(DOOR_EXCEPTIONS).map(exact) }, DOORS),
  ...Object.entries(DOOR_EXCEPTIONS).map(([from, to]) =>
    // The capture group is the file's own top folder, for '^lib/$1/' in DOORS.
    doorRule({ path: exact(from).replace(/^\^lib\/([^/]+)\//, '^lib/($1)/') }, [...DOORS, ...to.map(exact)]),
  ),
];

const HEAVY = [
  'yargs',
  'jose',
  'openid-client',
  'oidc-provider',
  'undici',
  '@modelcontextprotocol/sdk',
  '@peculiar/x509',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included: a cycle makes two modules one and the layers a lie.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'ground-floor',
      severity: 'error',
      comment: 'lib/errors.ts and lib/files.ts import nothing of ours but each other.',
      from: { path: '^lib/(errors|files)\\.ts$' },
      to: { path: '^lib/[^/]+/' },
    },
    ...layerRules,
    ...doorRules,
    {
      name: 'daemon-steps-on-top',
      severity: 'error',
      comment:
        "lib/daemon/steps/ (the request's steps) is the daemon's top floor under handler.ts: nothing below imports " +
        'a step (docs/architecture.md, "The daemon\'s floors").',
      from: { path: '^lib/daemon/', pathNot: '^lib/daemon/(steps/|handler\\.ts$)' },
      to: { path: '^lib/daemon/steps/' },
    },
    {
      name: 'daemon-stateless-front',
      severity: 'error',
      comment:
        'lib/daemon/era/ is the stateless front, above the session: only the top floor (the steps, daemon.ts that ' +
        'makes its pool, state.ts that holds it) enters it. The child, the session and the gate never import it (the ' +
        "child's own era is child-era*.ts, beside child.ts).",
      from: { path: '^lib/daemon/', pathNot: '^lib/daemon/((steps|era)/|(daemon|state)\\.ts$)' },
      to: { path: '^lib/daemon/era/' },
    },
    {
      name: 'mcp-words',
      severity: 'error',
      comment: 'lib/mcp holds MCP wire words only: it imports nothing of ours, not even lib/errors.ts.',
      from: { path: '^lib/mcp/' },
      to: { path: '^lib/(?!mcp/)' },
    },
    {
      name: 'cli-lazy',
      severity: 'error',
      comment:
        'lib/cli loads heavy dependencies only by import() inside a handler, so --help and a cached token stay fast ' +
        '(test/cli-imports.test.ts checks the whole static graph of lib/cli/main.ts at run time).',
      from: { path: '^lib/cli/' },
      to: {
        dependencyTypesNot: ['dynamic-import', 'type-only', 'import-equals'],
        path: `(^|/)node_modules/(${HEAVY.join('|')})/`,
      },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'Shipped code never imports tests, test helpers, fixtures or the bench.',
      from: { path: '^(lib|bin)/' },
      to: { path: '^(test|fixtures|bench)/' },
    },
    {
      name: 'not-to-dev-deps',
      severity: 'error',
      comment: 'Shipped code imports only package.json dependencies (devDependencies are not installed for users).',
      from: { path: '^(lib|bin)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
