import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { request } from 'undici';
import { baseUrl, daemonConfig, endSession, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

const CHANGES_SERVER = fileURLToPath(new URL('../fixtures/servers/modern-changes.js', import.meta.url));
// A child that speaks only 2026-07-28: the daemon serves session-era clients from it too (era/native.ts).
const CONFIG = `
[servers.changes]
command = ["${process.execPath}", "${CHANGES_SERVER}"]
allow_users = ["alice@example.com"]
tools = { allow = ["blurt", "touch"] }
resources = { allow = ["note://*"], deny = ["note://c"] }
`;

const refusedBy = (rule: string) => (err: unknown) => {
  const e = err as { code?: number; data?: { rule?: string } };
  assert.equal(e.code, -32003, String(err));
  assert.equal(e.data?.rule, rule);
  return true;
};

describe('daemon: resources under policy on a child that speaks only 2026-07-28', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness(await daemonConfig(CONFIG));
    token = await h.token('changes');
  });
  after(async () => {
    await h.close();
  });

  it('stateless client: the list is filtered, a read and a listen of a denied URI are refused', async () => {
    const client = await modernClient(h, 'changes', token);
    try {
      const uris = (await client.listResources()).resources.map((r) => r.uri).sort();
      assert.deepEqual(uris, ['note://a', 'note://b']);
      await assert.rejects(client.readResource({ uri: 'note://c' }), refusedBy('servers.changes.resources.deny'));
      await assert.rejects(client.readResource({ uri: 'NOTE://c' }), refusedBy('servers.changes.resources.deny'));
    } finally {
      await client.close();
    }
    const notifications = { resourceSubscriptions: ['note://a', 'note://c'] };
    const r = await request(baseUrl(h, 'changes'), {
      method: 'POST',
      dispatcher: h.unix('changes'),
      headers: modernHeaders(token, 'subscriptions/listen'),
      body: modernBody(7, 'subscriptions/listen', { notifications }),
    });
    const answer = JSON.parse(await r.body.text()) as { error?: { code: number; data?: { rule?: string } } };
    assert.equal(answer.error?.data?.rule, 'servers.changes.resources.deny');
  });

  it('session client: filtered list, refused read; an update of a URI revoked by a reload is not delivered', async () => {
    const client = await sdkClient(h, 'changes', token);
    try {
      assert.deepEqual((await client.listResources()).resources.map((r) => r.uri).sort(), ['note://a', 'note://b']);
      await assert.rejects(client.readResource({ uri: 'note://c' }), refusedBy('servers.changes.resources.deny'));
      await assert.rejects(client.subscribeResource({ uri: 'note://c' }), refusedBy('servers.changes.resources.deny'));
      const updated: string[] = [];
      let heard!: () => void;
      const kept = new Promise<void>((resolve) => (heard = resolve));
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updated.push(n.params.uri);
        if (n.params.uri === 'note://a') heard();
      });
      await client.subscribeResource({ uri: 'note://b' });
      await client.subscribeResource({ uri: 'note://a' });
      const text = readFileSync(h.ws.config, 'utf8');
      writeFileSync(h.ws.config, text.replace('deny = ["note://c"]', 'deny = ["note://c", "note://b"]'));
      await h.daemon.reload();
      // The child sends b's update, then a's, on the same stream: a's arrival means b's was dropped.
      await client.callTool({ name: 'touch', arguments: { uri: 'note://b' } });
      await client.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
      await kept;
      assert.deepEqual(updated, ['note://a']);
    } finally {
      await endSession(client);
    }
  });
});
