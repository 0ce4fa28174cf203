import { spawn, type ChildProcess } from 'node:child_process';
import type { ServerConfig } from '../config/index.js';
import type { ChildCgroups, ChildCgroup } from './cgroup.js';
import { ChildEraBridge, type ChildEra, type EraVerdicts } from './child-era.js';
import { endGroup } from './process-group.js';
import { StderrRecord } from './stderr-record.js';
import type { Admitted } from './gate.js';
import type { Person } from '../person.js';

/** What reaches the child besides the server's own `env`: enough to find and run a program (as the MCP SDK's default environment). */
const INHERITED = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG', 'TMPDIR'];
/** How long after its exit a child's stderr may still be read before the exit is reported without the rest. */
const STDERR_AFTER_EXIT_MS = 500;

export interface ChildHandlers {
  /** One parsed stdout line; lines that are not JSON are reported as `undefined`. */
  readonly onMessage: (message: unknown, line: string) => void;
  /** `explanation`: the server's own error line and the last lines of its stderr (lib/daemon/stderr-record.ts). */
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null, explanation: string) => void;
}

/**
 * One stdio MCP server process for one session: newline-delimited JSON-RPC on stdin/stdout, the
 * caller's identity in GATEKIT_USER/SUB/GROUPS, and no other variables than the configured ones
 * (plus PATH and friends). Tokens never reach it. It leads its own process group and, where the daemon has
 * cgroups, runs in a cgroup of its own, so that its end is the end of everything it started
 * (lib/daemon/process-group.ts, lib/daemon/cgroup.ts).
 */
export class McpChild {
  readonly process: ChildProcess;
  #buffer = '';
  readonly #stderr = new StderrRecord();
  #stopping: Promise<void> | undefined;
  /** Where its whole tree runs, when the daemon has cgroups (lib/daemon/cgroup.ts). */
  readonly #cgroup: ChildCgroup | undefined;
  readonly #bridge: ChildEraBridge;
  /** Date.now() of the last sign of life: any output, stderr included (a starting `npx -y` talks there). */
  lastOutput = Date.now();
  /** Still starting: no JSON-RPC message on stdout yet. */
  starting = true;

  /**
   * `sessionClient`: the child serves one session-era client (not a pooled 2026-07-28 child). `cgroups`: the
   * daemon's, if it has them — the child then starts in a cgroup of its own, which its end empties.
   */
  constructor(
    server: ServerConfig,
    identity: Person,
    handlers: ChildHandlers,
    sessionClient = false,
    cgroups?: ChildCgroups,
    verdicts?: EraVerdicts,
  ) {
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
    this.#cgroup = cgroups?.create();
    const [file, args] = this.#cgroup?.wrap(server.command, env) ?? [server.command[0]!, server.command.slice(1)];
    // detached: setsid(), so the child and whatever it starts (npx's `npm exec` and its server) share a group.
    this.process = spawn(file, args, { cwd: server.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#read(chunk, handlers));
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.lastOutput = Date.now();
      this.#stderr.add(chunk);
    });
    this.#bridge = new ChildEraBridge(
      server,
      (message) => this.#write(message),
      (message) => handlers.onMessage(message, JSON.stringify(message)),
      sessionClient,
      verdicts,
    );
    this.process.stdin!.on('error', () => {
      /* the exit handler reports it */
    });
    let reported = false;
    const report = (code: number | null, signal: NodeJS.Signals | null) => {
      if (reported) return;
      reported = true;
      handlers.onExit(code, signal, this.#stderr.explain());
    };
    // stderr may still hold the crash's last words at 'exit'; 'close' has them, unless a grandchild keeps the pipe.
    this.process.once('exit', (code, signal) => {
      const late = setTimeout(() => report(code, signal), STDERR_AFTER_EXIT_MS);
      this.process.once('close', () => {
        clearTimeout(late);
        report(code, signal);
      });
    });
    this.process.once('error', (err) => {
      this.#stderr.add(`\n${err.message}\n`);
      if (this.process.pid === undefined) report(null, null);
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The MCP era this child speaks, once its `server/discover` probe is settled (child-era.ts). */
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

  /** The session-era client's GET stream opened or closed (a 2026-07-28-only child is then listened to). */
  streaming(open: boolean): void {
    this.#bridge.streaming(open);
  }

  /** Only what the gate admitted (gate.ts) reaches the child's stdin; the era bridge below may reshape it. */
  send(message: Admitted): void {
    this.#bridge.send(message);
  }

  #write(message: unknown): void {
    if (this.alive) this.process.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Ends the child's whole process group — SIGTERM, then SIGKILL after KILL_GRACE_MS — even when the child
   * itself has already exited, then lets go of its pipes (a grandchild that left the group may hold them).
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const exited = this.alive && new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.stdin!.end();
    if (this.process.pid !== undefined) await endGroup(this.process.pid, this.#cgroup);
    else this.#cgroup?.remove();
    if (this.alive) this.process.kill('SIGKILL'); // only if it left its own group
    if (exited) await exited;
    for (const pipe of [this.process.stdin, this.process.stdout, this.process.stderr]) pipe?.destroy();
    this.process.unref();
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
