import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { gatekit } from './helpers/cli.js';
import { workspace } from './helpers/workspace.js';

const repo = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const EXAMPLE = repo('gatekit.toml');
const CASES = repo('gatekit.policy-test.toml');

describe('gatekit policy', () => {
  const ws = workspace(readFileSync(EXAMPLE, 'utf8'));
  after(() => ws.remove());

  it('policy test: the example config passes its own policy-test file', async () => {
    const r = await gatekit(['policy', 'test', CASES, '--config', EXAMPLE]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /13 of 13 cases pass/);
  });

  it('policy test: a case whose expectation the config breaks exits 1 and names it', async () => {
    const broken = join(ws.dir, 'broken.toml');
    writeFileSync(
      broken,
      readFileSync(CASES, 'utf8').replace('rule   = "servers.fs.tools.allow"', 'rule   = "servers.fs.tools.deny"'),
    );
    const r = await gatekit(['policy', 'test', broken, '--config', EXAMPLE, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const results = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean; rule: string }>;
    assert.deepEqual(
      results.filter((x) => !x.ok).map((x) => [x.name, x.rule]),
      [['eng may not write', 'servers.fs.tools.allow']],
    );
  });

  it('policy test: a malformed case file is a usage error (exit 2), not a pass', async () => {
    const bad = join(ws.dir, 'bad.json');
    for (const text of [
      '{"case":[{"user":"a","server":"fs","expect":"maybe"}]}',
      '{"case":[]}',
      'not json',
      '{"case":[{"user":"a","server":"fs","expect":"allow","tools":"x"}]}',
    ]) {
      writeFileSync(bad, text);
      const r = await gatekit(['policy', 'test', bad, '--config', EXAMPLE]);
      assert.equal(r.code, 2, `${text}: ${r.stdout}${r.stderr}`);
    }
  });

  it('policy explain: the decision and the rule, as text and JSON; deny exits 1', async () => {
    const base = [
      'policy',
      'explain',
      '--config',
      EXAMPLE,
      '--user',
      'erin@example.com',
      '--groups',
      'eng',
      '--server',
      'fs',
    ];
    const allowed = await gatekit([...base, '--tool', 'read_file', '--args', '{"path":"/srv/shared/a"}']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^allow by servers\.fs\.allow_groups \(eng\)/);
    const denied = await gatekit([
      ...base,
      '--tool',
      'read_file',
      '--args',
      '{"path":"/srv/shared/../../etc/shadow"}',
      '--json',
    ]);
    assert.equal(denied.code, 1, denied.stderr);
    const answer = JSON.parse(denied.stdout);
    assert.equal(answer.decision, 'deny');
    assert.equal(answer.rule, 'servers.fs.rule[0].args.path.path_under');
    assert.ok(!denied.stdout.includes('shadow'), 'the argument is not echoed');
    const stale = await gatekit([
      ...base.slice(0, -6),
      '--user',
      'o@example.com',
      '--groups',
      'ops',
      '--server',
      'fs',
      '--tool',
      'delete_file',
      '--args',
      '{"path":"/srv/shared/a"}',
      '--login-age',
      '600',
      '--json',
    ]);
    assert.equal(JSON.parse(stale.stdout).rule, 'servers.fs.rule[2].fresh_login');
  });

  it('policy explain: arguments that are not JSON, or an unknown server, are usage errors', async () => {
    const base = ['policy', 'explain', '--config', EXAMPLE, '--user', 'erin@example.com', '--groups', 'eng'];
    const r1 = await gatekit([...base, '--server', 'fs', '--tool', 'read_file', '--args', '{path:']);
    assert.equal(r1.code, 2, r1.stderr);
    const r2 = await gatekit([...base, '--server', 'nope']);
    assert.equal(r2.code, 2, r2.stderr);
  });

  it('policy explain --uri and --prompt: a resource URI or a prompt name is the question', async () => {
    const base = ['policy', 'explain', '--config', EXAMPLE, '--user', 'erin@example.com', '--groups', 'eng'];
    const read = await gatekit([...base, '--server', 'everything', '--uri', 'DEMO://resource/static/document/x.md']);
    assert.equal(read.code, 0, read.stdout + read.stderr);
    assert.match(read.stdout, /^allow by servers\.everything\.allow_groups \(eng\): resource "demo:\/\/resource/);
    const climb = await gatekit([
      ...base,
      '--server',
      'everything',
      '--uri',
      'demo://resource/static/%2E%2E/x',
      '--json',
    ]);
    assert.equal(climb.code, 1, climb.stderr);
    assert.equal(JSON.parse(climb.stdout).rule, 'servers.everything.resources');
    const prompt = await gatekit([...base, '--server', 'everything', '--prompt', 'resource-prompt']);
    assert.equal(prompt.code, 1, prompt.stderr);
    assert.match(prompt.stdout, /^deny by servers\.everything\.prompts\.allow/);
    const both = await gatekit([...base, '--server', 'everything', '--prompt', 'x', '--uri', 'demo://x']);
    assert.equal(both.code, 2, both.stderr);
  });
});
