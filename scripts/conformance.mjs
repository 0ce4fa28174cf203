// npm run conformance: the official MCP conformance suite's server scenarios at both wires (session era and
// 2026-07-28), against fixtures/conformance-server.js reached directly over HTTP and behind a real Gatekit daemon
// (dev keys, a minted token, the Unix socket through a loopback forwarder that adds the Bearer token).
// Prints scenario × (direct, daemon) per wire and the totals; exits 1 if the daemon passes fewer than direct.
// The session wire also runs against the same server started --modern-only behind the daemon ("daemon→2026"): a
// child that refuses initialize, to which the daemon speaks 2026-07-28 on the session-era client's behalf. That
// column is reported, not held to direct: the reference server's push-style sampling and elicitation tools cannot
// work at 2026-07-28 (the v2 SDK throws; its multi round-trip tools are the 2026-07-28 way).
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
const modernListen = harness.config.servers.get('conformance-modern').listen;
const modern = await startForwarder(modernListen.path, await harness.token('conformance-modern', { ttl: 3600 }));

let shortfall = false;
try {
  for (const wire of Object.keys(WIRES)) {
    const viaDirect = await runSuite(direct.url, wire);
    const viaDaemon = await runSuite(forwarder.url, wire);
    const viaModern = wire === 'session' ? await runSuite(modern.url, wire) : undefined;
    const names = [...new Set([...viaDirect.keys(), ...viaDaemon.keys()])];
    const mark = (v) => (v === undefined ? '-' : v ? 'pass' : 'FAIL');
    const width = Math.max(...names.map((n) => n.length));
    const ok = (outcome, name) => (outcome?.has(name) ? outcome.get(name).length === 0 : undefined);
    console.log(`\n${wire} wire (${WIRES[wire]})`);
    console.log(`${'scenario'.padEnd(width)}  direct  daemon${viaModern ? '  daemon→2026' : ''}`);
    for (const name of names) {
      const d = ok(viaDirect, name);
      const g = ok(viaDaemon, name);
      const m = viaModern ? `  ${mark(ok(viaModern, name)).padEnd(6)}` : '';
      const flag = d === true && g !== true ? '  <- only through the daemon' : '';
      console.log(`${name.padEnd(width)}  ${mark(d).padEnd(6)}  ${mark(g).padEnd(6)}${m}${flag}`);
      const onlyDaemon = (viaDaemon.get(name) ?? []).filter((id) => !(viaDirect.get(name) ?? []).includes(id));
      if (onlyDaemon.length > 0) console.log(`${''.padEnd(width)}  failing only through the daemon: ${onlyDaemon}`);
    }
    const toModern = viaModern ? `, daemon→2026 ${passed(viaModern)}/${viaModern.size}` : '';
    const total = `direct ${passed(viaDirect)}/${viaDirect.size}, daemon ${passed(viaDaemon)}/${viaDaemon.size}${toModern}`;
    console.log(`${'total'.padEnd(width)}  ${total}`);
    if (passed(viaDaemon) < passed(viaDirect)) shortfall = true;
  }
} finally {
  forwarder.server.close();
  modern.server.close();
  direct.stop();
  await harness.close();
}
process.exitCode = shortfall ? 1 : 0;
