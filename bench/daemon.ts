/**
 * The bench's own daemon process: `node dist/bench/daemon.js CONFIG on|off` runs startDaemon for the config
 * with the audit hash chain and checkpoints on or off (off exists for this comparison only; no config key or
 * flag turns it off). Prints "listening" once every listener is bound; SIGTERM stops it like `gatekit daemon`.
 */
import { loadConfig } from '../lib/config/index.js';
import { startDaemon } from '../lib/daemon/index.js';

const [file, chain] = process.argv.slice(2);
const config = loadConfig({ config: file! });
const daemon = await startDaemon(config, (line) => process.stderr.write(`${line}\n`), { auditChain: chain !== 'off' });
process.once('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
process.stdout.write('listening\n');
