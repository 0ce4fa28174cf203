import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { baseUrl, daemonConfig, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernBody, modernHeaders } from './helpers/modern-client.js';

// Everyone: a resource allow list that a deny of `**` covers; no prompt at all. Ops: a grant adds one prompt.
const POLICY = `allow_groups = ["ops"]
resources = { allow = ["demo://resource/**"], deny = ["**"] }
prompts   = { allow = [] }

[[servers.everything.grant]]
groups  = ["ops"]
prompts = { allow = ["simple-prompt"] }
`;

/**
 * Issue 26: a person the policy lets use no resource (prompt) of a server is not offered the `resources`
 * (`prompts`) capability, in the session-era `initialize` answer and in 2026-07-28's `server/discover`, as a person
 * who may call no tool is not offered `tools`. Through a real daemon and server-everything.
 */
describe('daemon: capabilities a person may use nothing of are not offered, in both eras', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(POLICY));
  });
  after(async () => {
    await h.close();
  });

  const sessionEra = async (token: string): Promise<Record<string, unknown>> => {
    const client = await sdkClient(h, 'everything', token);
    try {
      return client.getServerCapabilities() as Record<string, unknown>;
    } finally {
      await client.close();
    }
  };
  const discover = async (token: string): Promise<Record<string, unknown>> => {
    const r = await request(baseUrl(h, 'everything'), {
      method: 'POST',
      dispatcher: h.unix('everything'),
      headers: modernHeaders(token, 'server/discover'),
      body: modernBody(1, 'server/discover'),
    });
    const body = JSON.parse(await r.body.text()) as { result: { capabilities: Record<string, unknown> } };
    return body.result.capabilities;
  };

  for (const [era, offered] of [
    ['session', sessionEra],
    ['stateless', discover],
  ] as const) {
    it(`${era}: no resources, prompts or tools capability for a person who may use none; prompts for a grant's`, async () => {
      const alice = await offered(await h.token('everything'));
      assert.ok(alice['tools'], 'the tools capability stays');
      assert.equal(alice['resources'], undefined, 'a deny of ** covers every resource');
      assert.equal(alice['prompts'], undefined, 'an empty prompt allow list');
      const bob = await offered(await h.token('everything', { user: 'bob@example.com', groups: ['ops'] }));
      assert.ok(bob['prompts'], "the grant's prompt: the capability is offered");
      assert.equal(bob['resources'], undefined);
      // A token whose scope grants no tool: no tools capability either (the session era judged nothing before).
      const none = await offered(await h.token('everything', { scope: 'openid' }));
      assert.equal(none['tools'], undefined, 'a scope with no tools:');
    });
  }
});
