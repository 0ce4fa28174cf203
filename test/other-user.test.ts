import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reachableDir, runAsOtherUser, skipUnlessOtherUser, startAsOtherUser } from './helpers/other-user.js';

// The helper every "another local user" test stands on: prove its attacker really is one.
describe('the other user of the tests (uid nobody)', () => {
  it('runs as another uid and cannot read a 0600 file of ours', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const dir = reachableDir(t);
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'ours', { mode: 0o600 });
    const r = await runAsOtherUser(
      user,
      `import { readFileSync } from 'node:fs';
       let read = 'read';
       try { readFileSync(process.argv[1]); } catch (e) { read = e.code; }
       console.log(JSON.stringify({ uid: process.getuid(), read }));`,
      [secret],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { uid: user.uid, read: 'EACCES' });
    assert.notEqual(user.uid, process.getuid!());
  });

  it('a server the other user starts reports what it received', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const socket = join(reachableDir(t, { shared: true }), 'squat.sock');
    const squatter = startAsOtherUser(
      t,
      user,
      `import { createServer } from 'node:http';
       createServer((req, res) => { console.log('got ' + req.url); res.end('ok'); })
         .listen(process.argv[1], () => console.log('ready'));`,
      [socket],
    );
    await squatter.waitFor(/^ready$/);
    await new Promise<void>((resolve, reject) => {
      request({ socketPath: socket, path: '/hello' }, (res) => res.resume().on('end', resolve))
        .on('error', reject)
        .end();
    });
    assert.equal(await squatter.waitFor(/^got /), 'got /hello');
  });
});
