import type { Server, ServerResponse } from 'node:http';
import { AuditLog, auditLine, createAuditKey, loadAuditKey, type AuditEvent } from '../audit/index.js';
import { loadConfig, type Config, type ServerConfig } from '../config/index.js';
import { loadTrustedKeys, openTrustedKeys, VerifiedTokenCache, type TrustedKeyOptions } from '../token/index.js';
import { RateLimiter } from '../policy/index.js';
import { mcpHandler, type DaemonState } from './handler.js';
import { bindListener } from '../http/index.js';
import { ChildCgroups } from './cgroup.js';
import { stopBoundMs } from './process-group.js';
import { SessionRegistry } from './registry.js';
import { DoorMemory } from './door.js';
import { OpenStreams } from './streams.js';
import { resourceFilterFor } from './resource-gate.js';
import { RefusalTally } from './refusal-tally.js';
import { isStanding } from './sse.js';
import type { DaemonMetrics } from './metrics.js';
import type { TokenEndpoint } from './token-endpoint/index.js';
import { commandWarnings, readLock } from '../pins/index.js';

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

/**
 * Starts `gatekit daemon` for a loaded config: one listener per [servers.*], shared state, the sweeper.
 * A trusted_keys URL that cannot be reached yet does not stop it: it starts with no keys and says so.
 */
export async function startDaemon(
  initial: Config,
  say: (line: string) => void = () => {},
  options: DaemonOptions = {},
): Promise<Daemon> {
  const keyOptions: TrustedKeyOptions = { say, ...options.trustedKeys };
  const lock = readLock(initial.dir);
  for (const warning of commandWarnings(initial)) say(`warning: ${warning}`);
  // A setup from before audit keys existed gets one now, so checkpoints are always signed.
  if (createAuditKey(initial.daemon.audit_key)) say(`created the audit key ${initial.daemon.audit_key}`);
  const log = new AuditLog(initial.daemon.audit_log, {
    chain: options.auditChain !== false,
    groupReadable: initial.daemon.socket_group !== undefined,
    signer: loadAuditKey(initial.daemon.audit_key),
    anchor: initial.daemon.audit_anchor,
    checkpoint: initial.daemon.audit_checkpoint,
    say: (line) => process.stderr.write(`gatekit daemon: ${line}\n`),
  });
  const auditFailure = () => log.failure;
  /** POSTs and DELETEs being answered; GET streams and listens end with their sessions (sse.ts `isStanding`). */
  const answering = new Set<ServerResponse>();
  /** GET streams, tracked only for the metrics. */
  const streams = new Set<ServerResponse>();
  // prom-client is loaded only with metrics_listen; requests are counted from their audit lines (metrics.ts).
  const metrics: DaemonMetrics | undefined = initial.daemon.metrics_listen
    ? await (
        await import('./metrics.js')
      ).DaemonMetrics.create([...initial.servers.keys()], {
        sessions: (): SessionRegistry => sessions,
        responses: () => [...answering, ...streams],
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
  const tokenCache = () => metrics?.tokenCache() ?? new VerifiedTokenCache();
  const cgroups = openCgroups(initial, say);
  const sessions = new SessionRegistry(audit, cgroups);
  sessions.lock = lock;
  const keys = await openTrustedKeys(initial.daemon.trusted_keys, keyOptions);
  // Rate-limit buckets outlive a config reload, so SIGHUP does not reset anyone's budget.
  const limiter = new RateLimiter();
  const now = options.now ?? Date.now;
  // GET and listen streams, each held to the token that opened it (streams.ts); re-admitted on reload.
  const openStreams = new OpenStreams(audit);
  const refusals = new RefusalTally(audit);
  let state: DaemonState = {
    config: initial,
    keys,
    cache: tokenCache(),
    sessions,
    audit,
    auditFailure,
    limiter,
    now,
    streams: openStreams,
    refusals,
    door: new DoorMemory(),
  };
  const listeners = new Map<string, Server>();
  const waiting = () => [...answering].some((res) => !isStanding(res));
  let drained: (() => void) | undefined;
  try {
    for (const server of initial.servers.values()) {
      const handler = mcpHandler(server.name, () => state);
      const counted: typeof handler = (req, res) => {
        if (req.method !== 'GET') {
          answering.add(res);
          res.once('close', () => {
            answering.delete(res);
            drained?.();
          });
        } else if (metrics) {
          streams.add(res);
          res.once('close', () => streams.delete(res));
        }
        handler(req, res);
      };
      listeners.set(server.name, await bindListener(initial, server, counted));
    }
    if (metrics) await metrics.listen(initial, initial.daemon.metrics_listen!);
  } catch (err) {
    await Promise.all([...listeners.values()].map((l) => new Promise((r) => l.close(r))));
    await metrics?.close();
    cgroups?.close();
    log.close();
    throw err;
  }
  // Daemon mode: this process alone holds the signing key and mints through RFC 8693 exchange.
  let tokens: TokenEndpoint | undefined;
  if (initial.broker.mode === 'daemon') {
    try {
      const { startTokenEndpoint } = await import('./token-endpoint/index.js');
      tokens = await startTokenEndpoint(initial, audit, auditFailure);
    } catch (err) {
      await Promise.all([...listeners.values()].map((l) => new Promise((r) => l.close(r))));
      await metrics?.close();
      cgroups?.close();
      log.close();
      throw err;
    }
  }
  const sweeper = setInterval(() => sessions.sweep(state.config.daemon.limits), 1000);
  sweeper.unref();
  audit(auditLine.daemonStart(process.pid, [...listeners.keys()]));

  return {
    sessions,
    listeners,
    stopBoundMs: () => stopBoundMs(state.config.daemon.limits.drain_timeout),
    async reload() {
      const config = loadConfig({ config: state.config.file });
      const keys = await loadTrustedKeys(config.daemon.trusted_keys, keyOptions);
      const lock = readLock(config.dir);
      for (const warning of commandWarnings(config)) say(`warning: ${warning}`);
      for (const name of config.servers.keys())
        if (!listeners.has(name)) say(`servers.${name} is new: restart the daemon to serve it`);
      await tokens?.reload(config);
      endChanged(sessions, config);
      log.reopen();
      state = { ...state, config, keys, cache: tokenCache() };
      sessions.lock = lock;
      refusals.flush();
      audit(auditLine.daemonReload([...config.servers.keys()]));
      openStreams.readmitAll(state);
    },
    async stop() {
      clearInterval(sweeper);
      const closed = Promise.all([...listeners.values()].map((l) => new Promise((r) => l.close(r))));
      await tokens?.close();
      const drainMs = state.config.daemon.limits.drain_timeout * 1000;
      if (waiting()) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((r) => {
            drained = () => {
              if (!waiting()) r();
            };
          }),
          new Promise((r) => {
            timer = setTimeout(r, drainMs);
          }),
        ]);
        clearTimeout(timer);
      }
      await sessions.endAll('the daemon is stopping');
      if (cgroups && !cgroups.close()) say(`could not remove ${cgroups.dir}: something in it still runs`);
      for (const l of listeners.values()) l.closeAllConnections();
      await closed;
      refusals.flush();
      audit(auditLine.daemonStop(process.pid));
      await metrics?.close();
      log.close();
    },
  };
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
