import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { ASKER_CONFIG } from './helpers/asker.js';
import { daemonConfig, endSession, raw, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernClient, modernHeaders } from './helpers/modern-client.js';

/** A promise and the function that settles it, for waiting on one notification. */
function signal<T = unknown>(): { promise: Promise<T>; fire: (value: T) => void } {
  let fire!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (fire = resolve));
  return { promise, fire };
}

describe('daemon: subscriptions/listen (MCP 2026-07-28) carries a pooled child’s change notifications', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(ASKER_CONFIG));
  });
  after(async () => {
    await h.close();
  });

  it('list_changed and resources/updated reach the v2 listen stream; the v1 client gets its own', async () => {
    const token = await h.token('asker');
    const modern = await modernClient(h, 'asker', token);
    const legacy = await sdkClient(h, 'asker', token);
    try {
      const changed = signal();
      const updated: string[] = [];
      const touched = signal();
      modern.setNotificationHandler('notifications/tools/list_changed', (n) => changed.fire(n));
      modern.setNotificationHandler('notifications/resources/updated', (n) => {
        updated.push(n.params.uri);
        touched.fire(n);
      });
      const subscription = await modern.listen({
        toolsListChanged: true,
        promptsListChanged: true,
        resourceSubscriptions: ['asker://note'],
      });
      assert.deepEqual(
        subscription.honoredFilter,
        { toolsListChanged: true, resourceSubscriptions: ['asker://note'] },
        'the child has no prompts: not honoured',
      );
      await modern.callTool({ name: 'touch', arguments: { uri: 'asker://other' } });
      await modern.callTool({ name: 'touch', arguments: { uri: 'asker://note' } });
      await touched.promise;
      await modern.callTool({ name: 'change', arguments: {} });
      const note = (await changed.promise) as { params?: { _meta?: Record<string, unknown> } };
      assert.match(String(note.params?._meta?.['io.modelcontextprotocol/subscriptionId']), /^listen:\d+$/);
      assert.deepEqual(updated, ['asker://note'], 'only the subscribed URI, in order before list_changed');

      const legacyChanged = signal();
      legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => legacyChanged.fire(undefined));
      await legacy.callTool({ name: 'change', arguments: {} });
      await legacyChanged.promise;

      const pooled = h.daemon.sessions.all().find((s) => s.era === 'stateless' && s.server.name === 'asker')!;
      await pooled.end('test');
      assert.equal(await subscription.closed, 'graceful', 'the child ended: the stream says so and closes');
    } finally {
      await modern.close();
      await endSession(legacy);
    }
  });

  it('refuses a listen without text/event-stream (400, as -32600 is), a filter that is not one, and too many URIs', async () => {
    const token = await h.token('asker');
    const listen = async (notifications: unknown, accept = 'application/json, text/event-stream') => {
      const headers = { ...modernHeaders(token, 'subscriptions/listen'), accept };
      const res = await raw(h.unix('asker'), 'POST', headers, modernBody(3, 'subscriptions/listen', { notifications }));
      const code = JSON.parse(res.body).error?.code as number | undefined;
      // The 2026-07-28 transport names 400 for -32600; an invalid-params error stays inside a 200 answer.
      assert.equal(res.status, code === -32600 ? 400 : 200);
      return code;
    };
    assert.equal(await listen({ toolsListChanged: true }, 'application/json'), -32600);
    assert.equal(await listen('everything'), -32602);
    assert.equal(await listen({ resourceSubscriptions: [{ uri: 'x' }] }), -32602);
    const many = Array.from({ length: 65 }, (_, i) => `asker://${i}`);
    assert.equal(await listen({ resourceSubscriptions: many }), -32602);
    const lines = h.audit().filter((l) => l['method'] === 'subscriptions/listen');
    assert.deepEqual(
      lines.map((l) => l['outcome']),
      ['ok', 'error', 'error', 'error', 'error'],
    );
  });
});
