import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { gatekit } from './helpers/cli.js';
import { basicConfig, workspace } from './helpers/workspace.js';

const ISSUER = 'http://127.0.0.1:7499';
const DAEMON_MODE = basicConfig(ISSUER)
  .replace('[broker]', '[broker]\nmode = "daemon"')
  .replace('[daemon]', '[daemon]\ntoken_listen = "unix:run/token.sock"');
const WORKLOAD = `
[[trust.workload]]
issuer = "http://127.0.0.1:7600"
audience = "gatekit-ci"
claims = { repository = "octo-org/deploy" }
`;

describe('config', () => {
  const ws = workspace(basicConfig(ISSUER));
  after(() => ws.remove());

  it('resolves relative paths against the file and reads durations', () => {
    const config = loadConfig({ config: ws.config });
    assert.equal(config.daemon.trusted_keys, join(ws.dir, 'keys', 'broker.jwks'));
    assert.equal(config.broker.token_ttl, 300);
    const notes = config.servers.get('notes')!;
    assert.deepEqual(notes.listen, { kind: 'unix', path: join(ws.dir, 'run', 'notes.sock') });
    assert.equal(notes.resource, 'urn:gatekit:server:notes');
    assert.equal(notes.cwd, ws.dir);
  });

  it('is found through $GATEKIT_CONFIG, then ./gatekit.toml', () => {
    assert.equal(loadConfig({ env: { GATEKIT_CONFIG: ws.config }, cwd: '/' }).file, ws.config);
    assert.equal(loadConfig({ env: {}, cwd: ws.dir }).file, ws.config);
  });

  // Each case: a broken config, and what the one-line error must name.
  const cases: Array<[string, string, { key: RegExp; detail?: RegExp }]> = [
    [
      'unknown key',
      basicConfig(ISSUER).replace('token_ttl = "5m"', 'token_ttl = "5m"\ntoken_tll = "1m"'),
      { key: /broker\.token_tll/, detail: /did you mean "broker\.token_ttl"/ },
    ],
    [
      'wrong type',
      basicConfig(ISSUER).replace('client_id = "gatekit-cli"', 'client_id = 42'),
      { key: /idp\.client_id/, detail: /string/ },
    ],
    [
      'listen off loopback',
      basicConfig(ISSUER, 'listen = "0.0.0.0:7401"'),
      { key: /servers\.fs\.listen/, detail: /loopback/ },
    ],
    ['listen on a public address', basicConfig(ISSUER, 'listen = "10.0.0.5:7401"'), { key: /servers\.fs\.listen/ }],
    ['ttl above the hard maximum', basicConfig(ISSUER).replace('"5m"', '"2h"'), { key: /broker\.token_ttl/ }],
    ['bad duration', basicConfig(ISSUER).replace('"5m"', '"5 minutes-ish"'), { key: /broker\.token_ttl/ }],
    [
      'tools not a list',
      basicConfig(ISSUER).replace('allow = ["read_*", "list_*"]', 'allow = "read_*"'),
      { key: /servers\.notes\.tools\.allow/ },
    ],
    [
      'empty command',
      basicConfig(ISSUER).replace('command = ["node", "fs.js"]', 'command = []'),
      { key: /servers\.fs\.command/ },
    ],
    ['issuer not a URL', basicConfig('login.example.com'), { key: /idp\.issuer/ }],
    ['not TOML', `${basicConfig(ISSUER)}\n[servers.x\ncommand = 1`, { key: /not valid TOML \(line \d+, column \d+\)/ }],
    [
      'a plain-http [idp] issuer the daemon trusts (broker.mode = "daemon"), outside [dev]',
      DAEMON_MODE,
      { key: /"idp\.issuer" = "http:\/\/127\.0\.0\.1:7499" is plain http/, detail: /https/ },
    ],
    [
      'a plain-http [[trust.workload]] issuer, outside [dev]',
      basicConfig(ISSUER, WORKLOAD),
      { key: /"trust\.workload\[0\]\.issuer" = "http:\/\/127\.0\.0\.1:7600" is plain http/ },
    ],
    ['two servers on one socket', basicConfig(ISSUER, 'listen = "unix:run/notes.sock"'), { key: /listen/ }],
    [
      'idle_timeout above its maximum (24h)',
      `${basicConfig(ISSUER)}\n[daemon.limits]\nidle_timeout = "25h"\n`,
      { key: /daemon\.limits\.idle_timeout/, detail: /at most 86400s/ },
    ],
  ];
  for (const [name, toml, message] of cases) {
    it(`refuses ${name}: exit 2, one line naming file and key, no stack`, async () => {
      const bad = workspace(toml);
      try {
        const r = await gatekit(['broker', 'status'], { env: bad.env });
        assert.equal(r.code, 2, r.stderr);
        const first = r.stderr.split('\n')[0]!;
        assert.match(first, /^gatekit: /);
        assert.ok(first.includes(bad.config), `names the file: ${first}`);
        assert.match(first, message.key);
        if (message.detail) assert.match(r.stderr, message.detail);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.equal(r.stdout, '');
      } finally {
        bad.remove();
      }
    });
  }

  it('a [dev] config may use loopback http issuers (the test and development IdPs); local mode may anyway', () => {
    const dev = workspace(`[dev]\n${DAEMON_MODE}${WORKLOAD}`);
    after(() => dev.remove());
    const config = loadConfig({ config: dev.config });
    assert.equal(config.dev.enabled, true);
    assert.equal(config.idp!.issuer, ISSUER);
    assert.equal(config.workloads[0]!.issuer, 'http://127.0.0.1:7600');
    assert.equal(
      loadConfig({ config: ws.config }).dev.enabled,
      false,
      'local mode: the CLI logs in, no daemon trusts it',
    );
  });

  it('refuses a world-readable private signing key, naming file and key', async () => {
    const bad = workspace(basicConfig(ISSUER).replace('[broker]', '[broker]\nsigning_key = "keys/broker.jwk"'));
    try {
      assert.equal((await gatekit(['init'], { env: bad.env })).code, 0);
      chmodSync(join(bad.dir, 'keys', 'broker.jwk'), 0o644);
      const r = await gatekit(['broker', 'status'], { env: bad.env });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /broker\.signing_key/);
      assert.match(r.stderr, /chmod 600|0600/);
      assert.ok(r.stderr.includes(bad.config));
    } finally {
      bad.remove();
    }
  });

  it('names a missing --config file', async () => {
    const r = await gatekit(['broker', 'status', '--config', '/nonexistent/gatekit.toml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/nonexistent\/gatekit\.toml/);
  });

  it('reports bad usage with exit 2', async () => {
    const r = await gatekit(['broker', 'token'], { env: ws.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /resource/);
    const unknown = await gatekit(['brokr'], { env: ws.env });
    assert.equal(unknown.code, 2);
  });

  it('--help explains every command', async () => {
    const r = await gatekit(['--help']);
    assert.equal(r.code, 0);
    for (const command of [
      'init',
      'keys',
      'broker',
      'token',
      'daemon',
      'connect',
      'exec',
      'client-config',
      'doctor',
      'dev',
    ])
      assert.match(r.stdout, new RegExp(`gatekit ${command}`));
    assert.match(r.stdout, /Exit codes/);
  });
});
