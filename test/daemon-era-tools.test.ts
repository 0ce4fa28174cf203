import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fetch as undiciFetch } from 'undici';
import { baseUrl, startHarness, type Harness } from './helpers/daemon-harness.js';
import { modernClient } from './helpers/modern-client.js';

/** The v1 SDK client (session era) declaring exactly `capabilities`. */
async function sessionClient(h: Harness, token: string, capabilities: Record<string, object>): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(baseUrl(h, 'everything')), {
    fetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: h.unix('everything') } as never)) as typeof fetch,
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'era-tools-v1', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return client;
}

const names = async (client: { listTools(): Promise<{ tools: Array<{ name: string }> }> }) =>
  (await client.listTools()).tools.map((t) => t.name).sort();

/**
 * server-everything lists some tools only to a client that declared sampling or elicitation. Behind the daemon, a
 * 2026-07-28 client is served by a pooled session-era child the daemon initializes: with the capabilities that
 * client declares, so it is offered what the same client would be offered in the session era.
 */
describe('daemon: the tools a client is offered do not depend on its era', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.token('everything');
  });
  after(async () => {
    await h.close();
  });

  for (const [label, capabilities] of [
    ['declares nothing', {}],
    ['declares sampling and elicitation', { sampling: {}, elicitation: {} }],
  ] as const) {
    it(`a client that ${label} sees the same tools in both eras`, async () => {
      const session = await sessionClient(h, token, capabilities);
      const modern = await modernClient(h, 'everything', token, undefined, capabilities);
      try {
        const [sessionTools, modernTools] = [await names(session), await names(modern)];
        assert.deepEqual(modernTools, sessionTools);
        const sampling = sessionTools.includes('trigger-sampling-request');
        assert.equal(sampling, 'sampling' in capabilities, 'server-everything offers sampling only when declared');
      } finally {
        await modern.close();
        await session.close();
      }
    });
  }
});
