import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createAuditKey,
  hashLine,
  loadAuditKey,
  signCompact,
  verifyAuditFiles,
  type AuditPublicJwk,
  type AuditVerifyReport,
} from '../lib/audit/index.js';
import { startDaemon } from '../lib/daemon/index.js';
import { gatekit } from './helpers/cli.js';
import { daemonConfig, endSession, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';

const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

describe('audit: hash chain, checkpoints and verify', () => {
  let h: Harness;
  let old: string;
  let current: string;
  let key: AuditPublicJwk;
  before(async () => {
    const toml = (await daemonConfig()).replace(
      'audit_log = "audit.jsonl"',
      'audit_log = "audit.jsonl"\naudit_checkpoint = { lines = 5 }',
    );
    h = await startHarness(toml);
    key = loadAuditKey(h.config.daemon.audit_key).publicJwk;
    current = join(h.ws.dir, 'audit.jsonl');
    old = join(h.ws.dir, 'audit.jsonl.1');
    const client = await sdkClient(h, 'notes', await h.token('notes'));
    for (let i = 0; i < 8; i++) await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    renameSync(current, old); // the operator rotates, then sends SIGHUP
    await h.daemon.reload();
    for (let i = 0; i < 8; i++) await client.callTool({ name: 'echo', arguments: { message: `n${i}` } });
    await endSession(client);
    await h.daemon.stop();
    // A restart continues the chain where the file ends.
    const again = await startDaemon(h.config);
    await again.stop();
  });
  after(async () => {
    await h.close();
  });

  const verify = (files: string[], allowUnsealed = false) => verifyAuditFiles(files, [key], allowUnsealed);
  const tampered = (name: string, edit: (ls: string[]) => string[]) => {
    const file = join(h.ws.dir, name);
    writeFileSync(file, `${edit(lines(current)).join('\n')}\n`);
    return file;
  };
  /** What a forger without the key does: recompute every `prev` from line `from` (0-based) on. */
  const rehash = (ls: string[], from: number) => {
    for (let i = Math.max(1, from); i < ls.length; i++) {
      const l = parse(ls[i]!);
      l['prev'] = hashLine(ls[i - 1]!);
      ls[i] = JSON.stringify(l);
    }
    return ls;
  };
  const only = (report: AuditVerifyReport) => report.problems.map((p) => `${p.kind}@${p.line}`);
  /** 1-based line number of the n-th request line that is not followed by a checkpoint. */
  const requestLine = (ls: string[], n: number) => {
    const found = ls
      .map((l, i) => [parse(l), i] as const)
      .filter(([l, i]) => l['event'] === 'request' && parse(ls[i + 1]!)['event'] === 'request');
    return found[n]![1] + 1;
  };

  it("a chain across a SIGHUP rotation and a restart verifies, the new file linked to the old one's last line", async () => {
    const report = await verify([old, current]);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.unsealed, 0);
    const [oldLines, newLines] = [lines(old), lines(current)];
    assert.equal(parse(newLines[0]!)['prev'], hashLine(oldLines.at(-1)!));
    assert.equal(parse(newLines[0]!)['seq'], Number(parse(oldLines.at(-1)!)['seq']) + 1);
    assert.equal(parse(oldLines.at(-1)!)['reason'], 'rotate');
    const reasons = newLines
      .map(parse)
      .filter((l) => l['event'] === 'audit.checkpoint')
      .map((l) => l['reason']);
    assert.ok(
      reasons.includes('lines') && reasons.filter((r) => r === 'stop').length === 2,
      `checkpoints: ${reasons.join(',')}`,
    );
    const starts = newLines.map(parse).filter((l) => l['event'] === 'daemon.start');
    assert.equal(starts.length, 1, 'the restart wrote into the same chain');
    const cli = await gatekit(['audit', 'verify', old, current, '--json'], { env: h.ws.env });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).ok, true);
  });

  it('verify in the wrong order reports the files as out of order', async () => {
    const report = await verify([current, old]);
    assert.equal(report.ok, false);
    assert.ok(
      report.problems.some((p) => p.kind === 'reordered' && p.file === old && p.line === 1),
      only(report).join(' '),
    );
  });

  it('an edited line is reported at its line number', async () => {
    let at = 0;
    const file = tampered('edited.jsonl', (ls) => {
      at = requestLine(ls, 2);
      ls[at - 1] = ls[at - 1]!.replace('"outcome":"ok"', '"outcome":"error"');
      return ls;
    });
    const report = await verify([file]);
    assert.deepEqual(only(report), [`edited@${at}`]);
    const cli = await gatekit(['audit', 'verify', file], { env: h.ws.env });
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, new RegExp(`edited.jsonl:${at}: edited`));
  });

  it('a deleted line is reported where it is missing', async () => {
    let at = 0;
    const file = tampered('deleted.jsonl', (ls) => {
      at = requestLine(ls, 1);
      return ls.filter((_, i) => i !== at - 1);
    });
    assert.deepEqual(only(await verify([file])), [`deleted@${at}`]);
  });

  it('reordered lines are reported at the line that came too late', async () => {
    let at = 0;
    const file = tampered('reordered.jsonl', (ls) => {
      at = requestLine(ls, 1);
      [ls[at - 1], ls[at]] = [ls[at]!, ls[at - 1]!];
      return ls;
    });
    assert.deepEqual(only(await verify([file])), [`reordered@${at + 1}`]);
  });

  it('a truncated tail is reported as unsealed (exit 1), accepted only with --allow-unsealed', async () => {
    let from = 0;
    const file = tampered('truncated.jsonl', (ls) => {
      // Cut the last (stop) checkpoint: the lines after the checkpoint before it are unsealed.
      const cut = ls.slice(0, -1);
      from =
        cut
          .map(parse)
          .map((l) => l['event'])
          .lastIndexOf('audit.checkpoint') + 2;
      return cut;
    });
    const report = await verify([file]);
    assert.deepEqual(only(report), [`unsealed@${from}`]);
    assert.equal(report.ok, false);
    assert.equal((await verify([file], true)).ok, true);
    assert.equal((await gatekit(['audit', 'verify', file], { env: h.ws.env })).code, 1);
    assert.equal((await gatekit(['audit', 'verify', '--allow-unsealed', file], { env: h.ws.env })).code, 0);
    const torn = tampered('torn.jsonl', (ls) => ls);
    writeFileSync(torn, readFileSync(torn, 'utf8').slice(0, -20));
    assert.ok(only(await verify([torn])).includes(`malformed@${lines(current).length}`));
  });

  it('a checkpoint signed with another key, or with a broken signature, is refused as forged', async () => {
    const otherKey = join(h.ws.dir, 'other-audit.jwk');
    createAuditKey(otherKey);
    const other = loadAuditKey(otherKey);
    let at = 0;
    const file = tampered('forged.jsonl', (ls) => {
      at = ls.findIndex((l) => parse(l)['event'] === 'audit.checkpoint') + 1;
      const cp = parse(ls[at - 1]!);
      const sig = signCompact(other, { seq: cp['seq'], prev: cp['prev'], ts: cp['ts'], reason: cp['reason'] });
      ls[at - 1] = ls[at - 1]!.replace(String(cp['sig']), sig).replace(String(cp['kid']), other.kid);
      return rehash(ls, at);
    });
    const report = await verify([file]);
    assert.ok(only(report).includes(`forged-checkpoint@${at}`), only(report).join(' '));
    // Every line is still chained (the forger rewrote hashes after it): only the signature gives it away.
    assert.ok(!report.problems.some((p) => p.kind === 'edited'));
    const keyFile = join(h.ws.dir, 'other.jwks');
    writeFileSync(keyFile, JSON.stringify({ keys: [other.publicJwk] }));
    const withOther = await gatekit(['audit', 'verify', '--key', keyFile, '--json', current], { env: h.ws.env });
    assert.equal(withOther.code, 1, 'the real checkpoints do not verify with a foreign key');

    const broken = tampered('broken-sig.jsonl', (ls) => {
      const cp = parse(ls[at - 1]!);
      const sig = String(cp['sig']);
      ls[at - 1] = ls[at - 1]!.replace(sig, `${sig.slice(0, -4)}${sig.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`);
      return ls;
    });
    assert.ok(only(await verify([broken])).includes(`forged-checkpoint@${at}`));
  });

  it('rewriting a line and re-hashing every line after it is caught by the next checkpoint', async () => {
    let cpLine = 0;
    const file = tampered('rehashed.jsonl', (ls) => {
      const at = requestLine(ls, 0) - 1;
      ls[at] = ls[at]!.replace('"outcome":"ok"', '"outcome":"error"');
      cpLine = ls.findIndex((l, i) => i > at && parse(l)['event'] === 'audit.checkpoint') + 1;
      return rehash(ls, at + 1);
    });
    const report = await verify([file]);
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]?.kind, 'forged-checkpoint');
    assert.equal(report.problems[0]?.line, cpLine);
  });

  it('hostile lines and checkpoints are reported, never crash the verifier', async () => {
    const file = join(h.ws.dir, 'hostile.jsonl');
    const junkSig = (header: string) => `${Buffer.from(header).toString('base64url')}.e30.AAAA`;
    writeFileSync(
      file,
      [
        '[]',
        'null',
        '{"seq":"1","prev":"x"}',
        `{"seq":1,"prev":"${'x'.repeat(100_000)}"}`,
        '{"seq":2,"prev":"x","event":"audit.checkpoint","sig":123}',
        '{"seq":3,"prev":"x","event":"audit.checkpoint","sig":"!!!.@@@.###"}',
        `{"seq":4,"prev":"x","event":"audit.checkpoint","sig":"${junkSig(`{"alg":"none","kid":"${key.kid}"}`)}"}`,
        `{"seq":5,"prev":"x","event":"audit.checkpoint","sig":"${junkSig('{"kid":{"a":1}}')}"}`,
      ].join('\n') + '\n',
    );
    const report = await verify([file]);
    assert.equal(report.ok, false);
    const kinds = only(report);
    for (const expected of [
      'malformed@1',
      'malformed@2',
      'malformed@3',
      'forged-checkpoint@5',
      'forged-checkpoint@6',
      'forged-checkpoint@7',
      'forged-checkpoint@8',
    ]) {
      assert.ok(kinds.includes(expected), `${expected} in ${kinds.join(' ')}`);
    }
    const cli = await gatekit(['audit', 'verify', '--json', file], { env: h.ws.env });
    assert.equal(cli.code, 1);
    assert.equal(JSON.parse(cli.stdout).ok, false);
  });

  it('gatekit keys jwks --audit prints the audit public key, not the broker key, and never the private part', async () => {
    const out = await gatekit(['keys', 'jwks', '--audit'], { env: h.ws.env });
    assert.equal(out.code, 0, out.stderr);
    const jwks = JSON.parse(out.stdout) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(jwks.keys, [key]);
    assert.ok(!out.stdout.includes('"d"'));
    const broker = JSON.parse((await gatekit(['keys', 'jwks'], { env: h.ws.env })).stdout) as {
      keys: Array<{ x: string }>;
    };
    assert.ok(
      broker.keys.every((k) => k.x !== key.x),
      'the audit key is not the broker key',
    );
  });
});
