import { auditLine, type AuditEvent } from '../audit/index.js';
import type { DaemonLimits, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import type { ChildCgroups } from './cgroup.js';
import { Session } from './session.js';
import { EraVerdicts } from './child-era.js';
import { packageMismatch, packageRefusal, type Lock } from '../pins/index.js';
import type { Person } from '../person.js';

/**
 * All live sessions, with the bounds on how many a person and the whole daemon may hold. A bound
 * never locks a person out because of sessions their clients forgot to DELETE: at a bound the least
 * recently used session with nothing in flight is ended (`reason: "evicted"`) to make room, and only
 * when every candidate is busy is the new session refused.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #audit: (event: AuditEvent) => void;
  readonly #cgroups: ChildCgroups | undefined;
  /** gatekit.lock as read at start and on SIGHUP (lib/pins); every child judges its tools by the current one. */
  lock: Lock = new Map();
  /** Which era each server's children speak, as their probes found (child-era.ts). */
  readonly verdicts = new EraVerdicts();
  /** Per server config (new on each reload): why its npx package is not the pinned one, or null. */
  readonly #packages = new WeakMap<ServerConfig, string | null>();

  /** `cgroups`: the daemon's, where it has them; each child then runs in a cgroup of its own (cgroup.ts). */
  constructor(audit: (event: AuditEvent) => void, cgroups?: ChildCgroups) {
    this.#audit = audit;
    this.#cgroups = cgroups;
  }

  get size(): number {
    return this.#sessions.size;
  }
  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }
  all(): Session[] {
    return [...this.#sessions.values()];
  }

  /**
   * A new session for `owner`. At `max_sessions_per_user` it evicts the owner's least recently used
   * idle session; at `max_children` it evicts the owner's own least recently used idle session if
   * there is one (so one person's churn costs others nothing), else the daemon's least recently used
   * idle session. Throws LIMIT_EXCEEDED when no candidate is idle. Pooled 2026-07-28 children
   * (`era: "stateless"`, lib/daemon/era) are sessions here too: they count, are evicted and reaped alike.
   */
  open(server: ServerConfig, owner: Person, limits: DaemonLimits, era: 'session' | 'stateless' = 'session'): Session {
    // A package unlike its pin (gatekit.lock) is never started; checked once per server config, i.e. per reload.
    let mismatch = this.#packages.get(server);
    if (mismatch === undefined)
      this.#packages.set(server, (mismatch = packageMismatch(server, this.lock.get(server.name)) ?? null));
    if (mismatch !== null) throw packageRefusal(server, mismatch);
    const mine = this.all().filter((s) => s.owner.sub === owner.sub);
    if (mine.length >= limits.max_sessions_per_user && !this.#evict(mine)) {
      const why = `${owner.user} already has ${mine.length} open sessions, all busy (max_sessions_per_user)`;
      throw new GatekitError('LIMIT_EXCEEDED', `${why}; try again when a call has finished`);
    }
    if (this.#sessions.size >= limits.max_children && !this.#evict(mine) && !this.#evict(this.all())) {
      const why = `the daemon runs its maximum of ${limits.max_children} MCP server processes, all busy (max_children)`;
      throw new GatekitError('LIMIT_EXCEEDED', `${why}; try again later`);
    }
    const onEnd = (s: Session) => this.#sessions.delete(s.id);
    const pins = () => this.lock.get(server.name);
    const session = new Session(server, owner, this.#audit, onEnd, era, this.#cgroups, pins, this.verdicts);
    this.#sessions.set(session.id, session);
    this.#audit(auditLine.sessionStart(server.name, session.id, era, owner, session.child.process.pid));
    return session;
  }

  /** Ends the least recently used of `candidates` that has nothing in flight; false when all are busy. */
  #evict(candidates: readonly Session[]): boolean {
    let victim: Session | undefined;
    for (const s of candidates) {
      if (s.ended || s.pendingCount > 0) continue;
      if (!victim || s.lastUsed < victim.lastUsed) victim = s;
    }
    if (!victim) return false;
    void victim.end('evicted');
    return true;
  }

  /**
   * Ends sessions idle past `idle_timeout`; a starting child (nothing on stdout yet) silent for
   * `start_timeout` (after half of it, a child still silent on its `server/discover` probe is taken for
   * session-era); and a started one silent for `first_response_timeout` while a request waits (for `idle_timeout`
   * while it waits for its client's answer to a request of its own).
   * Any output, stderr included, is a sign of life.
   */
  sweep(limits: DaemonLimits, now = Date.now()): void {
    const startMs = limits.start_timeout * 1000;
    const answerMs = limits.first_response_timeout * 1000;
    // A child waiting for its client's answer (a person filling in an elicitation) may be silent up to idle_timeout.
    const idleMs = limits.idle_timeout * 1000;
    for (const session of this.#sessions.values()) {
      const silent = now - session.child.lastOutput;
      const oldest = session.oldestPending;
      if (session.child.starting) {
        if (silent > startMs) void session.end(`the MCP server did not start within ${limits.start_timeout}s`);
        else if (silent > startMs / 2) session.child.abandonProbe();
      } else if (
        oldest !== undefined &&
        now - oldest > answerMs &&
        silent > (session.waitingForClient ? idleMs : answerMs)
      ) {
        void session.end(`the MCP server did not answer within ${limits.first_response_timeout}s`);
      } else if (session.pendingCount === 0 && now - session.lastUsed > idleMs) {
        void session.end('idle timeout');
      }
    }
  }

  async endAll(reason: string): Promise<void> {
    await Promise.all(this.all().map((s) => s.end(reason)));
  }
}
