import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ASKER_CONFIG } from './helpers/asker.js';
import { daemonConfig, endSession, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';

type Text = { content: Array<{ text: string }> };

/**
 * A person may take minutes to answer a sampling or elicitation request. The child that asked is silent meanwhile;
 * that is not a hung child, so `first_response_timeout` does not end it (README, "On the wire": bounds).
 */
describe('daemon: a child waiting for its client is not hung', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(ASKER_CONFIG));
  });
  after(() => h.close());

  it('a sampling request unanswered past first_response_timeout keeps the session; the answer completes the call', async () => {
    const { CreateMessageRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const client = await sdkClient(h, 'asker', await h.token('asker'));
    let asked!: () => void;
    const question = new Promise<void>((resolve) => (asked = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked();
      await answered;
      return { role: 'assistant', content: { type: 'text', text: 'slowly' }, model: 'a person' };
    });
    try {
      const call = client.callTool({ name: 'sample', arguments: { question: 'take your time' } });
      await question;
      const limits = h.config.daemon.limits;
      const session = h.daemon.sessions.all().find((s) => s.server.name === 'asker')!;
      // The sweep as it would run long after first_response_timeout (but within idle_timeout).
      h.daemon.sessions.sweep(limits, Date.now() + (limits.first_response_timeout + 1) * 1000);
      assert.equal(session.ended, false, 'a child waiting for its client is not taken as hung');
      answer();
      assert.equal(((await call) as Text).content[0]!.text, 'sampled: slowly');
      // Once answered, the usual bound holds again: nothing is pending, nothing is asked.
      assert.equal(session.waitingForClient, false);
    } finally {
      answer();
      await endSession(client);
    }
  });
});
