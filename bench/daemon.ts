/**
 * The bench's own daemon process: `node dist/bench/daemon.js CONFIG on|off` runs startDaemon for the config
 * with the audit hash chain and checkpoints on or off (off exists for this comparison only; no config key or
 * flag turns it off; that daemon has a log and anchor of its own). Prints "listening" once every listener is bound; SIGTERM stops it like `gatekit daemon`.
 */
import { loadConfig } from '../lib/config/index.js';
import { startDaemon } from '../lib/daemon/index.js';

const [file, chain] = process.argv.slice(2);
const loaded = loadConfig({ config: file! });
// The chain-off daemon writes a log of its own: its unchained lines after the chained daemon's would be, rightly, a
// cut chain to the next chained daemon of the rounds (the anchor names the last checkpoint).
const config =
  chain === 'off'
    ? {
        ...loaded,
        daemon: {
          ...loaded.daemon,
          audit_log: `${loaded.daemon.audit_log}.chain-off`,
          audit_anchor: `${loaded.daemon.audit_anchor}.chain-off`,
        },
      }
    : loaded;
const daemon = await startDaemon(config, (line) => process.stderr.write(`${line}\n`), { auditChain: chain !== 'off' });
process.once('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
process.stdout.write('listening\n');
