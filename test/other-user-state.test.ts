import assert from 'node:assert/strict';
import { chmodSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startDevIdp } from '../lib/dev/index.js';
import { gatekit } from './helpers/cli.js';
import { deviceLoginCli } from './helpers/login.js';
import { runAsOtherUser, skipUnlessOtherUser } from './helpers/other-user.js';
import { basicConfig, workspace } from './helpers/workspace.js';

// What the other user's process can read of a state directory: every name and either its bytes or the error.
const READ_ALL = `import { readdirSync, readFileSync } from 'node:fs';
const dir = process.argv[1];
let names;
try { names = readdirSync(dir); } catch (e) { console.log(JSON.stringify({ dir: e.code })); process.exit(0); }
const files = {};
for (const n of names) { try { files[n] = readFileSync(dir + '/' + n, 'utf8'); } catch (e) { files[n] = e.code; } }
console.log(JSON.stringify({ files }));`;

describe('another local user (uid nobody) and your login state', () => {
  it('reads nothing of a login and its cached tokens: the state directory is 0700, and each file 0600 even if it were opened', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    t.after(() => idp.close());
    const ws = workspace(basicConfig(idp.issuer));
    t.after(() => ws.remove());
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    const login = await deviceLoginCli(ws, 'alice@example.com', ['--resource', 'notes']);
    assert.equal(login.code, 0, login.stderr);
    chmodSync(ws.dir, 0o755);
    assert.ok(
      readdirSync(ws.home).some((n) => n.includes('.token.')),
      'a cached token is there',
    );

    const closed = await runAsOtherUser(user, READ_ALL, [ws.home]);
    assert.deepEqual(JSON.parse(closed.stdout), { dir: 'EACCES' });

    chmodSync(ws.home, 0o755); // a mistake of the person's: the files still hold
    const opened = JSON.parse((await runAsOtherUser(user, READ_ALL, [ws.home])).stdout) as {
      files: Record<string, string>;
    };
    const names = Object.keys(opened.files);
    assert.ok(names.length > 0);
    for (const name of names) assert.equal(opened.files[name], 'EACCES', `${name} is readable by another user`);
  });
});
