// npm run conformance: the official MCP conformance suite's server scenarios at both wires (session era and
// 2026-07-28), against fixtures/conformance-server.js reached directly over HTTP and behind a real Gatekit daemon
// (dev keys, a minted token, the Unix socket through a loopback forwarder that adds the Bearer token).
// Prints scenario × (direct, daemon) per wire and the totals; exits 1 if the daemon passes fewer than direct.
// Run after `npm run build` (the npm script does).
import { fileURLToPath } from 'node:url';
import { conformanceDaemonConfig } from '../dist/fixtures/conformance-config.js';
import { WIRES, passed, runSuite, startDirectServer, startForwarder } from '../dist/fixtures/conformance-run.js';
import { startHarness } from '../dist/test/helpers/daemon-harness.js';

const server = fileURLToPath(new URL('../dist/fixtures/conformance-server.js', import.meta.url));
const harness = await startHarness(await conformanceDaemonConfig(server));
const direct = await startDirectServer().catch(async (err) => {
  await harness.close();
  throw err;
});
const listen = harness.config.servers.get('conformance').listen;
const forwarder = await startForwarder(listen.path, await harness.token('conformance', { ttl: 3600 }));

let shortfall = false;
try {
  for (const wire of Object.keys(WIRES)) {
    const viaDirect = await runSuite(direct.url, wire);
    const viaDaemon = await runSuite(forwarder.url, wire);
    const names = [...new Set([...viaDirect.keys(), ...viaDaemon.keys()])];
    const mark = (v) => (v === undefined ? '-' : v ? 'pass' : 'FAIL');
    const width = Math.max(...names.map((n) => n.length));
    console.log(`\n${wire} wire (${WIRES[wire]})`);
    console.log(`${'scenario'.padEnd(width)}  direct  daemon`);
    for (const name of names) {
      const d = viaDirect.has(name) ? viaDirect.get(name).length === 0 : undefined;
      const g = viaDaemon.has(name) ? viaDaemon.get(name).length === 0 : undefined;
      const flag = d === true && g !== true ? '  <- only through the daemon' : '';
      console.log(`${name.padEnd(width)}  ${mark(d).padEnd(6)}  ${mark(g)}${flag}`);
      const onlyDaemon = (viaDaemon.get(name) ?? []).filter((id) => !(viaDirect.get(name) ?? []).includes(id));
      if (onlyDaemon.length > 0) console.log(`${''.padEnd(width)}  failing only through the daemon: ${onlyDaemon}`);
    }
    const total = `direct ${passed(viaDirect)}/${viaDirect.size}, daemon ${passed(viaDaemon)}/${viaDaemon.size}`;
    console.log(`${'total'.padEnd(width)}  ${total}`);
    if (passed(viaDaemon) < passed(viaDirect)) shortfall = true;
  }
} finally {
  forwarder.server.close();
  direct.stop();
  await harness.close();
}
process.exitCode = shortfall ? 1 : 0;
