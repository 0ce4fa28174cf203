import type { Server, ServerResponse } from 'node:http';
import { AuditLog, auditLine, createAuditKey, loadAuditKey, type AuditEvent } from '../audit/index.js';
import { loadConfig, type Config, type ServerConfig } from '../config/index.js';
import {
  loadTrustedKeys,
  openTrustedKeys,
  VerifiedTokenCache,
  type TrustedKeys,
  type TrustedKeyOptions,
} from '../token/index.js';
import { RateLimiter } from '../policy/index.js';
import { mcpHandler } from './handler.js';
import { bindListener } from '../http/index.js';
import { ChildCgroups } from './cgroup.js';
import { StatelessPool, WaitingCalls } from './era/index.js';
import { stopBoundMs } from './process-group.js';
import { SessionRegistry } from './registry.js';
import { DoorMemory } from './door.js';
import { OpenStreams } from './streams.js';
import { resourceFilterFor } from './resource-gate.js';
import { RefusalTally } from './refusal-tally.js';
import { Traffic } from './traffic.js';
import { listenerNames } from './origin.js';
import type { DaemonState, LoadedState, ProcessState } from './state.js';
import type { DaemonMetrics } from './metrics.js';
import type { TokenEndpoint } from './token-endpoint/index.js';
import { commandWarnings, readLock, type Lock } from '../pins/index.js';

export interface Daemon {
  /** SIGHUP: config, trusted keys and policy anew; the audit log sealed and reopened. Listeners stay as they are. */
  reload(): Promise<void>;
  /** SIGTERM: stop accepting, let in-flight requests finish (bounded by drain_timeout), end every child. */
  stop(): Promise<void>;
  /** How long stop() may take at most: drain_timeout, the children's kill grace and a margin (process-group.ts). */
  stopBoundMs(): number;
  readonly sessions: SessionRegistry;
  readonly listeners: ReadonlyMap<string, Server>;
}

export interface DaemonOptions {
  /** How the trusted keys are kept current (tests shorten the re-read interval or add a CA). */
  readonly trustedKeys?: TrustedKeyOptions;
  /** The clock `rate` and `fresh_login` rules read, in milliseconds (tests move it); default Date.now. */
  readonly now?: () => number;
  /** false: the audit log without hash chain and checkpoints, for bench/daemon.ts only (no config key). */
  readonly auditChain?: boolean;
}

/** What `startDaemon` opened that lives with the process, beside the `ProcessState` requests read. */
interface Opened {
  readonly log: AuditLog;
  readonly cgroups: ChildCgroups | undefined;
  readonly metrics: DaemonMetrics | undefined;
  readonly traffic: Traffic;
}

/**
 * Starts `gatekit daemon` for a loaded config: the lasting state (`ProcessState`: audit, sessions, pool, caches),
 * the state of this config (`LoadedState`, replaced by `reload()`), one listener per [servers.*], the token
 * endpoint in daemon mode, the sweeper. A trusted_keys URL that cannot be reached yet does not stop it: it starts
 * with no keys and says so. Two daemons in one process share nothing.
 */
export async function startDaemon(
  initial: Config,
  say: (line: string) => void = () => {},
  options: DaemonOptions = {},
): Promise<Daemon> {
  const keyOptions: TrustedKeyOptions = { say, ...options.trustedKeys };
  const lock = readLock(initial.dir);
  for (const warning of commandWarnings(initial)) say(`warning: ${warning}`);
  const { lasting, opened } = await openLasting(initial, say, options);
  const keys = await openTrustedKeys(initial.daemon.trusted_keys, keyOptions);
  const daemon = new RunningDaemon(lasting, loadedState(initial, keys, lock, opened.metrics), opened, say, keyOptions);
  await daemon.listen();
  return daemon;
}

/** The lasting half: the audit log (with a key made for a setup from before audit keys), metrics, sessions. */
async function openLasting(
  config: Config,
  say: (line: string) => void,
  options: DaemonOptions,
): Promise<{ lasting: ProcessState; opened: Opened }> {
  if (createAuditKey(config.daemon.audit_key)) say(`created the audit key ${config.daemon.audit_key}`);
  const log = new AuditLog(config.daemon.audit_log, {
    chain: options.auditChain !== false,
    groupReadable: config.daemon.socket_group !== undefined,
    signer: loadAuditKey(config.daemon.audit_key),
    anchor: config.daemon.audit_anchor,
    checkpoint: config.daemon.audit_checkpoint,
    say: (line) => process.stderr.write(`gatekit daemon: ${line}\n`),
  });
  const auditFailure = () => log.failure;
  const standing = new WeakSet<ServerResponse>();
  const traffic = new Traffic(standing, config.daemon.metrics_listen !== undefined);
  let sessions: SessionRegistry | undefined;
  // prom-client is loaded only with metrics_listen; requests are counted from their audit lines (metrics.ts).
  const metrics: DaemonMetrics | undefined = config.daemon.metrics_listen
    ? await (
        await import('./metrics.js')
      ).DaemonMetrics.create([...config.servers.keys()], {
        sessions: () => sessions!,
        responses: () => traffic.responses(),
        standing,
        auditFailure,
        auditWriteFailures: () => log.writeFailures,
      })
    : undefined;
  const audit = metrics
    ? (event: AuditEvent) => {
        log.write(event);
        metrics.count(event);
      }
    : (event: AuditEvent) => log.write(event);
  const cgroups = openCgroups(config, say);
  sessions = new SessionRegistry(audit, cgroups);
  const lasting: ProcessState = {
    sessions,
    pool: new StatelessPool(sessions),
    waiting: new WaitingCalls(),
    audit,
    auditFailure,
    limiter: new RateLimiter(),
    now: options.now ?? Date.now,
    streams: new OpenStreams(audit),
    standing,
    refusals: new RefusalTally(audit),
    door: new DoorMemory(),
  };
  return { lasting, opened: { log, cgroups, metrics, traffic } };
}

/** The reloadable half, for one loaded config and its trusted keys. */
function loadedState(config: Config, keys: TrustedKeys, lock: Lock, metrics: DaemonMetrics | undefined): LoadedState {
  return {
    config,
    keys,
    cache: metrics?.tokenCache() ?? new VerifiedTokenCache(),
    resourceFilters: new WeakMap(),
    toolFilters: new WeakMap(),
    names: listenerNames(config),
    lock,
  };
}

/** The handle `startDaemon` returns: the two halves of the state, the listeners, reload and stop. */
class RunningDaemon implements Daemon {
  readonly sessions: SessionRegistry;
  readonly listeners = new Map<string, Server>();
  readonly #lasting: ProcessState;
  #loaded: LoadedState;
  /** What requests read: both halves, made anew when a reload replaces the loaded one. */
  #state: DaemonState;
  readonly #opened: Opened;
  readonly #say: (line: string) => void;
  readonly #keyOptions: TrustedKeyOptions;
  #tokens: TokenEndpoint | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    lasting: ProcessState,
    loaded: LoadedState,
    opened: Opened,
    say: (line: string) => void,
    keyOptions: TrustedKeyOptions,
  ) {
    this.sessions = lasting.sessions;
    this.#lasting = lasting;
    this.#loaded = loaded;
    this.#state = { ...lasting, ...loaded };
    this.sessions.lock = loaded.lock;
    this.#opened = opened;
    this.#say = say;
    this.#keyOptions = keyOptions;
  }

  /** Binds every listener, the metrics and (daemon mode) the token endpoint; on a failure closes what it opened. */
  async listen(): Promise<void> {
    const { config } = this.#loaded;
    try {
      for (const server of config.servers.values()) {
        const handler = this.#opened.traffic.counted(mcpHandler(server.name, () => this.#state));
        this.listeners.set(server.name, await bindListener(config, server, handler));
      }
      if (this.#opened.metrics) await this.#opened.metrics.listen(config, config.daemon.metrics_listen!);
      // Daemon mode: this process alone holds the signing key and mints through RFC 8693 exchange.
      if (config.broker.mode === 'daemon') {
        const { startTokenEndpoint } = await import('./token-endpoint/index.js');
        this.#tokens = await startTokenEndpoint(config, this.#lasting.audit, this.#lasting.auditFailure);
      }
    } catch (err) {
      await this.#closeListeners();
      await this.#opened.metrics?.close();
      this.#opened.cgroups?.close();
      this.#opened.log.close();
      throw err;
    }
    this.#sweeper = setInterval(() => this.sessions.sweep(this.#loaded.config.daemon.limits), 1000);
    this.#sweeper.unref();
    this.#lasting.audit(auditLine.daemonStart(process.pid, [...this.listeners.keys()]));
  }

  stopBoundMs(): number {
    return stopBoundMs(this.#loaded.config.daemon.limits.drain_timeout);
  }

  async reload(): Promise<void> {
    const config = loadConfig({ config: this.#loaded.config.file });
    const keys = await loadTrustedKeys(config.daemon.trusted_keys, this.#keyOptions);
    const loaded = loadedState(config, keys, readLock(config.dir), this.#opened.metrics);
    for (const warning of commandWarnings(config)) this.#say(`warning: ${warning}`);
    for (const name of config.servers.keys())
      if (!this.listeners.has(name)) this.#say(`servers.${name} is new: restart the daemon to serve it`);
    await this.#tokens?.reload(config);
    endChanged(this.sessions, config);
    this.#opened.log.reopen();
    this.#loaded = loaded;
    this.#state = { ...this.#lasting, ...loaded };
    this.sessions.lock = loaded.lock;
    this.#lasting.refusals.flush();
    this.#lasting.audit(auditLine.daemonReload([...config.servers.keys()]));
    this.#lasting.streams.readmitAll(this.#state);
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    const closed = this.#closeListeners();
    await this.#tokens?.close();
    await this.#opened.traffic.drain(this.#loaded.config.daemon.limits.drain_timeout * 1000);
    await this.sessions.endAll('the daemon is stopping');
    const { cgroups } = this.#opened;
    if (cgroups && !cgroups.close()) this.#say(`could not remove ${cgroups.dir}: something in it still runs`);
    for (const l of this.listeners.values()) l.closeAllConnections();
    await closed;
    this.#lasting.refusals.flush();
    this.#lasting.audit(auditLine.daemonStop(process.pid));
    await this.#opened.metrics?.close();
    this.#opened.log.close();
  }

  #closeListeners(): Promise<unknown> {
    return Promise.all([...this.listeners.values()].map((l) => new Promise((r) => l.close(r))));
  }
}

/** `[daemon] cgroup = "auto"`: the daemon's cgroups where it may have them, else why not (said once). */
function openCgroups(config: Config, say: (line: string) => void): ChildCgroups | undefined {
  if (config.daemon.cgroup === 'off') return undefined;
  const opened = ChildCgroups.open();
  if (typeof opened !== 'string') return opened;
  say(
    `children are held by their process group only (${opened}): a grandchild that calls setsid() can outlive its session`,
  );
  return undefined;
}

/**
 * On reload, the sessions (and pooled children) of a server removed from the config, or whose command, cwd or
 * env changed, end with their whole tree (`reason: "reload"`); the reload does not wait for the trees' grace. The
 * others' resource updates are filtered by the new policy from now on.
 */
function endChanged(sessions: SessionRegistry, config: Config): void {
  const same = (a: ServerConfig, b: ServerConfig | undefined) =>
    b !== undefined && JSON.stringify([a.command, a.cwd, a.env]) === JSON.stringify([b.command, b.cwd, b.env]);
  for (const s of sessions.all()) {
    const server = config.servers.get(s.server.name);
    if (!same(s.server, server)) void s.end('reload');
    // What the owner may hear is updated, by the new policy at once (resource-gate.ts).
    else s.readable = resourceFilterFor(server!, s.owner);
  }
}
