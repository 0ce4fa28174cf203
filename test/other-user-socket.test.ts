import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { brokerContext } from '../lib/broker/index.js';
import { loadConfig } from '../lib/config/index.js';
import { startTokenAgent } from '../lib/exec/index.js';
import { startHarness } from './helpers/daemon-harness.js';
import { runAsOtherUser, skipUnlessOtherUser, type OtherUser } from './helpers/other-user.js';
import { basicConfig, workspace } from './helpers/workspace.js';

/** What the other user gets from one POST to a Unix socket: "status N" or "error CODE". */
async function knock(user: OtherUser, socket: string, path: string): Promise<string> {
  const r = await runAsOtherUser(
    user,
    `import { request } from 'node:http';
     const req = request({ socketPath: process.argv[1], method: 'POST', path: process.argv[2] }, (res) => console.log('status ' + res.statusCode));
     req.on('error', (e) => console.log('error ' + e.code));
     req.end('{}');`,
    [socket, path],
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

// The Unix-socket listeners are 0600 (0660 with socket_group): another local user cannot even connect.
describe('another local user (uid nobody) and the daemon sockets', () => {
  it("cannot connect to a server's 0600 socket, even with every directory on the way open; the daemon hears nothing", async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const h = await startHarness();
    t.after(() => h.close());
    const listen = h.config.servers.get('notes')!.listen;
    assert.equal(listen.kind, 'unix');
    const socket = (listen as { path: string }).path;
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    for (const dir of [h.ws.dir, dirname(socket)]) chmodSync(dir, 0o755);
    const before = h.audit().length;
    assert.equal(await knock(user, socket, '/mcp'), 'error EACCES');
    assert.equal(h.audit().length, before, 'no audit line: nothing reached the daemon');
  });

  it('cannot ask a gatekit exec token agent for a token: its socket is 0600 in a 0700 directory', async (t) => {
    const user = skipUnlessOtherUser(t);
    if (!user) return;
    const ws = workspace(basicConfig('http://127.0.0.1:9'));
    t.after(() => ws.remove());
    const agent = await startTokenAgent(brokerContext(loadConfig({ config: ws.config }), ws.env), { say: () => {} });
    t.after(() => agent.close());
    assert.equal(statSync(dirname(agent.socketPath)).mode & 0o777, 0o700);
    assert.equal(statSync(agent.socketPath).mode & 0o777, 0o600);
    assert.equal(await knock(user, agent.socketPath, '/token'), 'error EACCES');
    chmodSync(dirname(agent.socketPath), 0o755);
    assert.equal(await knock(user, agent.socketPath, '/token'), 'error EACCES', 'the socket alone refuses too');
  });
});
