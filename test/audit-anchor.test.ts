import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AuditLog, createAuditKey, hashLine, loadAuditKey, readAnchor } from '../lib/audit/index.js';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon } from '../lib/daemon/index.js';
import { isGatekitError } from '../lib/errors.js';
import { initialize } from '../lib/setup/index.js';
import { collect, gatekit, spawnGatekit } from './helpers/cli.js';
import { daemonConfig } from './helpers/daemon-harness.js';
import { workspace } from './helpers/workspace.js';

const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');

/** A fresh log with an audit key and an anchor beside it. */
function openLog(t: TestContext, anchorName = 'audit.anchor') {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-anchor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'audit.jwk');
  createAuditKey(keyFile);
  const file = join(dir, 'audit.jsonl');
  const anchor = join(dir, anchorName);
  const open = () => new AuditLog(file, { signer: loadAuditKey(keyFile), anchor });
  return { dir, file, anchor, open };
}

describe('audit anchor: the last checkpoint, kept outside the log', () => {
  it('each checkpoint writes the anchor (0600, atomically) with its seq and the hash of its line', (t) => {
    const { file, anchor, open } = openLog(t);
    const log = open();
    log.write({ event: 'daemon.start', pid: 1 });
    log.checkpoint('interval');
    const first = readAnchor(anchor)!;
    const sealed = lines(file).at(-1)!;
    assert.equal(first.seq, 2);
    assert.equal(first.hash, hashLine(sealed));
    assert.equal(first.log, file);
    assert.equal(statSync(anchor).mode & 0o777, 0o600);
    log.write({ event: 'daemon.stop', pid: 1 });
    log.close();
    assert.equal(readAnchor(anchor)!.seq, 4, 'the stop checkpoint moves it on');
    assert.equal(readAnchor(anchor)!.hash, hashLine(lines(file).at(-1)!));
    open().close(); // a restart on the whole log is fine
  });

  it('a log cut back to an earlier checkpoint, emptied, or replaced is refused at start, naming log and anchor', (t) => {
    const { file, anchor, open } = openLog(t);
    const log = open();
    log.write({ event: 'daemon.start', pid: 1 });
    log.checkpoint('interval');
    const cut = readFileSync(file).length;
    log.write({ event: 'daemon.stop', pid: 1 });
    log.close();
    const whole = readFileSync(file);
    const refused = (pattern: RegExp) =>
      assert.throws(open, (err: unknown) => isGatekitError(err, 'CONFLICT') && pattern.test(err.message));
    truncateSync(file, cut);
    refused(
      new RegExp(
        `^refusing to start: the audit log ${file} ends at seq 2, before the checkpoint at seq 4 that its anchor ${anchor} recorded`,
      ),
    );
    truncateSync(file, 0);
    refused(/has no lines, before the checkpoint at seq 4/);
    // Same seq, other bytes: the anchored line (the last, in the tail read at start) differs.
    writeFileSync(file, whole.toString().replace('"reason":"stop"', '"reason":"STOP"'));
    refused(/the line at seq 4 of the audit log .* is not the checkpoint its anchor .* recorded/);
    writeFileSync(file, whole);
    open().close();
  });

  it('an anchor of another log, one others can write, a link or junk is refused', (t) => {
    const { dir, anchor, open } = openLog(t);
    writeFileSync(anchor, JSON.stringify({ log: join(dir, 'other.jsonl'), seq: 1, hash: 'sha256:x', ts: '' }), {
      mode: 0o600,
    });
    assert.throws(
      open,
      (err: unknown) => isGatekitError(err, 'CONFLICT') && /belongs to .*other\.jsonl/.test(err.message),
    );
    chmodSync(anchor, 0o622);
    assert.throws(open, (err: unknown) => isGatekitError(err, 'KEY_INVALID') && /writable by others/.test(err.message));
    for (const junk of ['', 'null', '[]', '{"log":"x","seq":0,"hash":"h"}', '{"log":1,"seq":1,"hash":"h"}', '\u0000']) {
      rmSync(anchor);
      writeFileSync(anchor, junk, { mode: 0o600 });
      assert.throws(
        open,
        (err: unknown) => isGatekitError(err, 'KEY_INVALID') && /is not an audit anchor/.test(err.message),
        junk,
      );
    }
    rmSync(anchor);
    symlinkSync(join(dir, 'audit.jwk'), anchor);
    assert.throws(open, (err: unknown) => isGatekitError(err, 'KEY_INVALID') && /not a regular file/.test(err.message));
  });
});

describe('audit anchor through the daemon and the CLI', () => {
  it('a log truncated to an earlier checkpoint: verify fails naming the anchor; the daemon refuses to start', async (t) => {
    const ws = workspace(await daemonConfig());
    t.after(() => ws.remove());
    const config = loadConfig({ config: ws.config });
    await initialize(config, { force: false });
    const log = join(ws.dir, 'audit.jsonl');
    const anchor = join(ws.dir, 'keys', 'audit.anchor');
    assert.equal(config.daemon.audit_anchor, anchor, 'beside the audit key by default');
    const daemon = await startDaemon(config);
    await daemon.reload(); // a `reload` checkpoint
    const atReload = lines(log).findIndex((l) => l.includes('"reason":"reload"'));
    await daemon.stop(); // then a `stop` checkpoint, recorded in the anchor
    assert.equal(readAnchor(anchor)!.hash, hashLine(lines(log).at(-1)!));
    assert.equal((await gatekit(['audit', 'verify', log], { env: ws.env })).code, 0);

    // The attacker cuts the log back to the reload checkpoint: sealed, so it verifies on its own...
    writeFileSync(
      log,
      `${lines(log)
        .slice(0, atReload + 1)
        .join('\n')}\n`,
    );
    const copy = join(ws.dir, 'copy.jsonl');
    writeFileSync(copy, readFileSync(log));
    assert.equal((await gatekit(['audit', 'verify', copy], { env: ws.env })).code, 0, 'another path: no anchor');
    const anchored = await gatekit(['audit', 'verify', '--anchor', anchor, copy], { env: ws.env });
    assert.equal(anchored.code, 1, anchored.stdout);
    // ...but not against the anchor.
    const verify = await gatekit(['audit', 'verify', log], { env: ws.env });
    assert.equal(verify.code, 1, verify.stdout);
    const seq = atReload + 1;
    const last = readAnchor(anchor)!.seq;
    assert.match(
      verify.stdout,
      new RegExp(
        `^${log}:${seq}: truncated: the audit log ${log} ends at seq ${seq}, before the checkpoint at seq ${last} that its anchor ${anchor} recorded \\(`,
        'm',
      ),
    );
    assert.match(verify.stdout, /^NOT verified: /m);
    const json = JSON.parse((await gatekit(['audit', 'verify', '--json', log], { env: ws.env })).stdout);
    assert.equal(json.ok, false);
    assert.deepEqual(json.anchor, { file: anchor, seq: last, hash: readAnchor(anchor)!.hash });

    await assert.rejects(startDaemon(config), (err: unknown) => isGatekitError(err, 'CONFLICT'));
    const child = spawnGatekit(['daemon'], { env: ws.env });
    const out = await collect(child);
    assert.equal(out.code, 1);
    const [message, hint] = out.stderr.split('\n');
    const ts = readAnchor(anchor)!.ts;
    assert.equal(
      message,
      `gatekit: refusing to start: the audit log ${log} ends at seq ${seq}, before the checkpoint at seq ${last} that its anchor ${anchor} recorded (${ts}): lines were cut`,
    );
    // Hints name gatekit as the user runs it: `npx gatekit` in this checkout (lib/cli/invocation.ts).
    assert.equal(
      hint?.replace('"npx gatekit ', '"gatekit '),
      `hint: run "gatekit audit verify" to see what is missing; a log moved aside on purpose goes back to ${log} (or keep it and remove ${anchor}, and the next daemon starts a new anchor)`,
    );
  });
});
