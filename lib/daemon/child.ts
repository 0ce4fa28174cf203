import { spawn, type ChildProcess } from 'node:child_process';
import type { ServerConfig } from '../config/index.js';
import { ChildEraBridge, type ChildEra } from './era/native.js';

/** What reaches the child besides the server's own `env`: enough to find and run a program (as the MCP SDK's default environment). */
const INHERITED = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG', 'TMPDIR'];
const KILL_GRACE_MS = 2000;

export interface ChildIdentity {
  readonly user: string;
  readonly sub: string;
  readonly groups: readonly string[];
}

export interface ChildHandlers {
  /** One parsed stdout line; lines that are not JSON are reported as `undefined`. */
  readonly onMessage: (message: unknown, line: string) => void;
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null, stderrTail: string) => void;
}

/**
 * One stdio MCP server process for one session: newline-delimited JSON-RPC on stdin/stdout, the
 * caller's identity in GATEKIT_USER/SUB/GROUPS, and no other variables than the configured ones
 * (plus PATH and friends). Tokens never reach it.
 */
export class McpChild {
  readonly process: ChildProcess;
  #buffer = '';
  #stderr = '';
  readonly #bridge: ChildEraBridge;
  /** Date.now() of the last sign of life: any output, stderr included (a starting `npx -y` talks there). */
  lastOutput = Date.now();
  /** Still starting: no JSON-RPC message on stdout yet. */
  starting = true;

  /** `sessionClient`: the child serves one session-era client (not a pooled 2026-07-28 child). */
  constructor(server: ServerConfig, identity: ChildIdentity, handlers: ChildHandlers, sessionClient = false) {
    const env: Record<string, string> = {};
    for (const name of INHERITED) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    Object.assign(env, server.env, {
      GATEKIT_USER: identity.user,
      GATEKIT_SUB: identity.sub,
      GATEKIT_GROUPS: identity.groups.join(','),
      // The comma-joined list is ambiguous for a group name with a comma; this one is not.
      GATEKIT_GROUPS_JSON: JSON.stringify(identity.groups),
      GATEKIT_SERVER: server.name,
    });
    const [file, ...args] = server.command;
    this.process = spawn(file!, args, { cwd: server.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#read(chunk, handlers));
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.lastOutput = Date.now();
      this.#stderr = (this.#stderr + chunk).slice(-2000);
    });
    this.#bridge = new ChildEraBridge(
      server,
      (message) => this.#write(message),
      (message) => handlers.onMessage(message, JSON.stringify(message)),
      sessionClient,
    );
    this.process.stdin!.on('error', () => {
      /* the exit handler reports it */
    });
    let reported = false;
    const exit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (reported) return;
      reported = true;
      handlers.onExit(code, signal, this.#stderr.trim().split('\n').slice(-3).join(' | '));
    };
    this.process.once('exit', exit);
    this.process.once('error', (err) => {
      this.#stderr += `\n${err.message}`;
      exit(null, null);
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The MCP era this child speaks, once its `server/discover` probe is settled (lib/daemon/era/native.ts). */
  get era(): ChildEra {
    return this.#bridge.era;
  }

  /** A native child's own `server/discover` result. */
  get discovered(): Readonly<Record<string, unknown>> | undefined {
    return this.#bridge.discovered;
  }

  /** Stop waiting for an answer to the probe: the child speaks the session era. */
  abandonProbe(): void {
    this.#bridge.abandonProbe();
  }

  send(message: unknown): void {
    this.#bridge.send(message);
  }

  #write(message: unknown): void {
    if (this.alive) this.process.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /** SIGTERM, then SIGKILL if it is still there after a grace period. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.stdin!.end();
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  #read(chunk: string, handlers: ChildHandlers): void {
    this.lastOutput = Date.now();
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (!line) continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        message = undefined;
      }
      if (message !== undefined) this.starting = false;
      if (message !== undefined && !this.#bridge.receive(message)) continue;
      handlers.onMessage(message, line);
    }
  }
}
