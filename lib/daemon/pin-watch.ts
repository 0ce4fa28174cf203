import { auditLine, type AuditEvent } from '../audit/index.js';
import type { ServerConfig } from '../config/index.js';
import { toolFingerprint, type ServerPins, type ToolDefinition } from '../pins/index.js';
import type { Person } from '../person.js';

/**
 * One child's tools against the server's pins in `gatekit.lock` (issue 26 item 2). Every `tools/list` answer of the
 * child passes `note` (the client's and the daemon's own, in both eras): a tool whose fingerprint is not its pin (or
 * that has none) is hidden from the answer and audited once per child, tool and fingerprint as `tool.changed`.
 * A `tools/call` is then a Map lookup against the child's last listed fingerprints (`refusal`); a child whose list was
 * not seen since it started or said it changed (`notifications/tools/list_changed`) is listed by the daemon before
 * the call (steps/forward.ts), so a tool no client listed is judged too. Without pins for the server, nothing here
 * costs more than one lookup of the lock.
 */
export class PinWatch {
  readonly #server: ServerConfig;
  readonly #pins: () => ServerPins | undefined;
  readonly #audit: (event: AuditEvent) => void;
  readonly #where: { readonly session: string; readonly era: string; readonly owner: Person };
  /** The child's tools as last listed: name → fingerprint (pages add up; forgotten on list_changed). */
  readonly #listed = new Map<string, string>();
  /** The fingerprint each changed tool was last audited with. */
  readonly #reported = new Map<string, string>();
  #seen = false;
  /** on_tool_change = "deny_server": a change was seen, every request this child serves is refused. */
  #tainted = false;

  constructor(
    server: ServerConfig,
    pins: () => ServerPins | undefined,
    audit: (event: AuditEvent) => void,
    where: { readonly session: string; readonly era: string; readonly owner: Person },
  ) {
    this.#server = server;
    this.#pins = pins;
    this.#audit = audit;
    this.#where = where;
  }

  /** Whether a call must wait for the daemon to list the child's tools first. */
  get needsList(): boolean {
    return !this.#seen && this.#server.on_tool_change !== 'audit' && this.#pins() !== undefined;
  }

  /** The child said its tool list changed: what it listed is no longer known. */
  forget(): void {
    this.#listed.clear();
    this.#seen = false;
  }

  /** A `tools/list` result of the child's: the names to hide from it (empty: nothing to hide). */
  note(result: unknown): ReadonlySet<string> {
    const pins = this.#pins();
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!pins || !Array.isArray(tools)) return EMPTY;
    // Seen once its last page is: a request waiting for the list is judged by all of it (a tainting tool may be last).
    if (typeof (result as { nextCursor?: unknown }).nextCursor !== 'string') this.#seen = true;
    const hidden = new Set<string>();
    for (const tool of tools as ToolDefinition[]) {
      if (typeof tool?.name !== 'string') continue;
      const fingerprint = toolFingerprint(tool);
      this.#listed.set(tool.name, fingerprint);
      const pinned = pins.tools.get(tool.name)?.fingerprint;
      if (pinned === fingerprint) continue;
      if (this.#server.on_tool_change !== 'audit') hidden.add(tool.name);
      if (this.#server.on_tool_change === 'deny_server') this.#tainted = true;
      if (this.#reported.get(tool.name) === fingerprint) continue;
      this.#reported.set(tool.name, fingerprint);
      const { session, era, owner } = this.#where;
      this.#audit(
        auditLine.toolChanged(this.#server.name, session, era, owner, {
          tool: tool.name,
          pinned,
          listed: fingerprint,
          action: this.#server.on_tool_change,
        }),
      );
    }
    return hidden;
  }

  /**
   * Why every gated request of this child is refused (on_tool_change = "deny_server" after a change was seen:
   * a rug-pulled server serves no call, resource, prompt, completion, listen or task), or undefined.
   */
  get taint(): string | undefined {
    if (!this.#tainted || this.#server.on_tool_change !== 'deny_server' || !this.#pins()) return undefined;
    return TAINTED;
  }

  /** Why a call of `tool` is refused by the pins (rule `servers.NAME.pins`), or undefined. */
  refusal(tool: string): string | undefined {
    if (this.#server.on_tool_change === 'audit') return undefined;
    const pins = this.#pins();
    if (!pins) return undefined;
    if (this.#tainted) return TAINTED;
    const pinned = pins.tools.get(tool)?.fingerprint;
    const listed = this.#listed.get(tool);
    if (pinned !== undefined && pinned === listed) return undefined;
    const name = JSON.stringify(tool.slice(0, 100));
    if (pinned === undefined) return `tool ${name} is not pinned`;
    if (listed === undefined) return `tool ${name} was not in the server's tool list`;
    return `tool ${name} changed since it was pinned`;
  }
}

const TAINTED = 'a tool of this server changed since it was pinned (on_tool_change = "deny_server")';
const EMPTY: ReadonlySet<string> = new Set();
