import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config, ServerConfig } from '../config/index.js';
import { brokerContext, login } from '../broker/index.js';
import { GatekitError } from '../errors.js';
import { isPortInUse, startDev, type DevHandle } from './quickstart.js';
import { GATEKIT_BIN, serves, startDaemonProcess, type DaemonProcess } from './daemon-process.js';

const DEMO_USER = 'alice@example.com';

export interface DemoIO {
  readonly say: (line: string) => void;
}

/**
 * `gatekit dev --demo`: the whole product once, unattended — dev IdP, daemon, a device login as a
 * dev user approved over HTTP, one tool call through `gatekit connect` with the MCP SDK's client,
 * the audit line it produced — then everything stops. Login state goes to a temp dir, never to
 * the person's own.
 */
export async function runDemo(config: Config, io: DemoIO): Promise<void> {
  const server = [...config.servers.values()].find((s) => s.listen.kind === 'unix') ?? [...config.servers.values()][0];
  if (!server) throw new GatekitError('CONFIG_INVALID', `${config.file}: the demo needs at least one [servers.*]`);
  const home = mkdtempSync(join(tmpdir(), 'gatekit-demo-'));
  const env = { ...process.env, GATEKIT_HOME: home, GATEKIT_CONFIG: config.file };
  // `npm start` (gatekit dev) may already serve this config, as the README's order has it: use it.
  let dev: DevHandle | undefined;
  try {
    dev = await startDev(config);
  } catch (err) {
    if (!isPortInUse(err) || !(await serves(server))) throw err;
  }
  let daemon: DaemonProcess | undefined;
  try {
    if (dev) io.say(`1. development identity provider at ${dev.issuer} (DEVELOPMENT ONLY)`);
    else io.say(`1. using the running gatekit dev (npm start): its identity provider and daemon`);
    if (dev) daemon = await startDaemonProcess(config, env, () => {});
    io.say(
      `2. daemon serving ${server.name} on ${server.listen.kind === 'unix' ? server.listen.path : `${server.listen.host}:${server.listen.port}`}`,
    );

    const { approveDevice } = await import('./idp-driver.js');
    const ctx = brokerContext(config, env);
    const result = await login(
      ctx,
      { flow: 'device', resources: [] },
      {
        say: (line) => io.say(`   ${line}`),
        onDeviceCode: (prompt) => {
          void approveDevice(prompt, DEMO_USER).then(() => io.say(`   (the demo approved the code as ${DEMO_USER})`));
        },
      },
    );
    io.say(`3. logged in as ${result.login.provider.identity.user}`);

    const auditStart = auditSize(config);
    const text = await callThroughConnect(server, env).catch((err: Error) => {
      if (err instanceof GatekitError) throw err;
      // The server's own words (a failed start is explained by the daemon) rather than "unexpected error".
      throw new GatekitError(
        'CHILD_FAILED',
        `the call to ${server.name} through gatekit connect failed: ${err.message}`,
        {
          hint: `gatekit doctor --config ${config.file} starts each server once and shows why it fails`,
        },
      );
    });
    io.say(`4. tools/call through gatekit connect → ${text}`);
    const lines = readAudit(config, auditStart).filter((l) => l['event'] === 'request' && l['method'] === 'tools/call');
    io.say(`5. audit line: ${JSON.stringify(lines.at(-1) ?? '(none yet)')}`);
  } finally {
    await daemon?.stop();
    await dev?.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function callThroughConnect(server: ServerConfig, env: NodeJS.ProcessEnv): Promise<string> {
  const [{ Client }, { StdioClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
  ]);
  const client = new Client({ name: 'gatekit-demo', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [GATEKIT_BIN, 'connect', server.name],
      env: env as Record<string, string>,
      stderr: 'inherit',
    }),
  );
  try {
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === 'echo') ?? tools[0];
    if (!tool) throw new GatekitError('INTERNAL', `server ${server.name} offers no tool the demo user may call`);
    const result = await client.callTool({
      name: tool.name,
      arguments: tool.name === 'echo' ? { message: 'hello from the Gatekit demo' } : {},
    });
    const content = (result.content as Array<{ type: string; text?: string }> | undefined) ?? [];
    return `${tool.name}: ${content.map((c) => c.text ?? `[${c.type}]`).join(' ')}`;
  } finally {
    await client.close();
  }
}

function auditSize(config: Config): number {
  try {
    return statSync(config.daemon.audit_log).size;
  } catch {
    return 0;
  }
}

function readAudit(config: Config, from: number): Array<Record<string, unknown>> {
  if (config.daemon.audit_log === '-') return [];
  try {
    return readFileSync(config.daemon.audit_log)
      .subarray(from)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}
