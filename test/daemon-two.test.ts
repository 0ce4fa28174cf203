import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DpopKey } from '../lib/token/index.js';
import { INITIALIZE, JSON_HEADERS, raw, startHarness, type Harness } from './helpers/daemon-harness.js';

const LIB_DAEMON = fileURLToPath(new URL('../../lib/daemon/', import.meta.url));

/** Every .ts file under lib/daemon, with its path relative to it. */
function daemonSources(dir = LIB_DAEMON, prefix = ''): Array<{ file: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? daemonSources(join(dir, e.name), `${prefix}${e.name}/`)
      : e.name.endsWith('.ts')
        ? [{ file: `${prefix}${e.name}`, text: readFileSync(join(dir, e.name), 'utf8') }]
        : [],
  );
}

describe('two daemons in one process share nothing (lib/daemon/state.ts)', () => {
  let a: Harness;
  let b: Harness;

  before(async () => {
    a = await startHarness();
    b = await startHarness();
    // B trusts A's broker key, so one token and one proof are good at both (same resource, same htu).
    const jwks = (h: Harness) => join(h.ws.dir, 'keys', 'broker.jwks');
    writeFileSync(jwks(b), readFileSync(jwks(a)));
    await b.daemon.reload();
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const initialize = (h: Harness, token: string, proof: string) =>
    raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `DPoP ${token}`, dpop: proof }, INITIALIZE);

  it('judges a DPoP proof the other daemon has seen by its own replay cache, and still refuses a replay of its own', async () => {
    const key = await DpopKey.generate('EdDSA');
    const token = await a.token('notes', { jkt: key.jkt });
    const proof = await key.proof('POST', 'http://localhost/mcp', token);
    assert.equal((await initialize(a, token, proof)).status, 200, 'A takes the proof');
    assert.equal((await initialize(b, token, proof)).status, 200, "B has not seen it: A's cache is not B's");
    const again = await initialize(b, token, proof);
    assert.equal(again.status, 401, 'B refuses its own replay');
    assert.match(String(again.headers['www-authenticate']), /invalid_dpop_proof/);
  });

  it('a reload of one does not touch the other', async () => {
    const token = await a.token('notes');
    const post = (h: Harness) =>
      raw(h.unix('notes'), 'POST', { ...JSON_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal((await post(b)).status, 200);
    const file = b.ws.config;
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'allow_users = ["alice@example.com"]\nallow_groups',
        'allow_users = ["bob@example.com"]\nallow_groups',
      ),
    );
    await b.daemon.reload();
    assert.equal((await post(b)).status, 403, 'B reloaded: alice is no longer admitted there');
    assert.equal((await post(a)).status, 200, 'A keeps its own config and admissions');
  });

  it('lib/daemon holds no mutable state at module level (only constant word lists)', () => {
    const found: string[] = [];
    for (const { file, text } of daemonSources()) {
      text.split('\n').forEach((line, i) => {
        // A constant word list: an UPPER_CASE name, typed read-only or filled from a literal and never changed.
        const constant =
          /^(?:export )?const [A-Z][A-Z0-9_]*(?::[^=]+)? = new (?:Set|Map)(?:<[^(]*>)?\(\[/.test(line) ||
          /^(?:export )?const [A-Z][A-Z0-9_]*: Readonly(?:Set|Map)</.test(line);
        if (/^(?:export )?let /.test(line) || (/^(?:export )?const \S+(?::[^=]+)? = new /.test(line) && !constant))
          found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(found, []);
  });
});
