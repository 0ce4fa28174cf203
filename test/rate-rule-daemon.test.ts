import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { daemonConfig, endSession, sdkClient, startHarness, type Harness } from './helpers/daemon-harness.js';

const RULE = `
[[servers.notes.rule]]
tools = ["e*"]
rate = "2/m"
`;

describe('rate rules through the daemon: one bucket per rule and person', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(RULE));
  });
  after(async () => {
    await h.close();
  });

  it('calls to another tool name the same glob matches count against the same budget', async (t) => {
    const client = await sdkClient(h, 'notes', await h.token('notes'));
    t.after(() => endSession(client));
    await client.callTool({ name: 'echo', arguments: { message: 'one' } });
    await client.callTool({ name: 'env', arguments: {} });
    const err = await client.callTool({ name: 'echo', arguments: { message: 'three' } }).then(
      () => assert.fail('the third call under "e*" at 2/m should be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, String(err));
    assert.equal(err.code, -32005);
    assert.equal((err.data as { rule: string }).rule, 'servers.notes.rule[0].rate');
  });
});
