import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { conformanceDaemonConfig } from '../fixtures/conformance-config.js';
import { runSuite, startDirectServer, startForwarder, type Wire } from '../fixtures/conformance-run.js';
import { startHarness } from './helpers/daemon-harness.js';

const SERVER = fileURLToPath(new URL('../fixtures/conformance-server.js', import.meta.url));

/**
 * A representative subset of the official suite's server scenarios (`npm run conformance` runs all of them:
 * the whole suite at both wires, direct and through the daemon, takes about a minute here).
 */
const SUBSET: Record<Wire, string[]> = {
  session: ['server-initialize', 'tools-call-with-progress', 'tools-call-sampling', 'dns-rebinding-protection'],
  stateless: ['server-stateless', 'http-header-validation', 'caching'],
};

describe('the official MCP conformance suite through the daemon', () => {
  it('no check fails through the daemon that passes against the same server directly, at both wires', async (t) => {
    const direct = await startDirectServer();
    t.after(direct.stop);
    const harness = await startHarness(await conformanceDaemonConfig(SERVER));
    t.after(() => harness.close());
    const listen = harness.config.servers.get('conformance')!.listen;
    assert.equal(listen.kind, 'unix');
    const token = await harness.token('conformance', { ttl: 600 });
    const forwarder = await startForwarder(listen.kind === 'unix' ? listen.path : '', token);
    t.after(() => forwarder.server.close());

    for (const wire of ['session', 'stateless'] as const) {
      const [viaDirect, viaDaemon] = await Promise.all([
        runSuite(direct.url, wire, SUBSET[wire]),
        runSuite(forwarder.url, wire, SUBSET[wire]),
      ]);
      assert.deepEqual([...viaDaemon.keys()].sort(), [...SUBSET[wire]].sort(), `${wire}: every scenario ran`);
      const onlyDaemon = SUBSET[wire].flatMap((scenario) =>
        viaDaemon
          .get(scenario)!
          .filter((id) => !viaDirect.get(scenario)!.includes(id))
          .map((id) => `${scenario}:${id}`),
      );
      assert.deepEqual(onlyDaemon, [], `${wire}: checks failing only through the daemon`);
    }
    // The requests reached the daemon, as the person the token names: it is not the direct server twice.
    assert.ok(harness.audit().some((e) => e['era'] === 'stateless' && e['user'] === 'alice@example.com'));
  });
});
