import { auditLine, type AuditEvent } from '../audit/index.js';
import type { Person } from '../person.js';
import type { RpcMessage } from '../mcp/index.js';

/**
 * The tasks one child created (MCP tasks: SEP-2663 at 2026-07-28, and 2025-11-25's core tasks), each bound to the
 * child's session: its person, its server and that child process. The gate (tasks-gate.ts) lets `tasks/get`,
 * `tasks/result`, `tasks/update` and `tasks/cancel` reach the child only for a task here; `tasks/list` answers and
 * task status notifications keep only tasks here. Bounded: at most MAX_TASKS per child (the oldest forgotten first),
 * each kept for its `ttlMs` (2025: `ttl`, both milliseconds) at most MAX_TTL_MS; a forgotten task is an unknown one.
 * It ends with its session, like everything else a child holds.
 */

/** Tasks a child may have that the daemon remembers; past it the oldest is forgotten. */
const MAX_TASKS = 256;
/** How long a task with no `ttl` (or a longer one) is remembered. */
const MAX_TTL_MS = 24 * 3600_000;

/** The request methods that name a task (`params.taskId`). */
const TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/update', 'tasks/cancel']);
/** The notifications a child sends about a task (`params.taskId`): 2025-11-25's and SEP-2663's. */
const TASK_NOTIFICATIONS: ReadonlySet<string> = new Set(['notifications/tasks/status', 'notifications/tasks']);

/** What the daemon remembers of a task: never its arguments, input or result. */
export interface OwnedTask {
  /** The tool whose `tools/call` created it (a `tasks/update` is a later round of that call, gated again). */
  readonly tool: string | undefined;
  status: string;
  readonly expires: number;
}

/** Where a child's task lines go, and whose they are. */
export interface TaskLedgerOwner {
  readonly server: string;
  readonly session: string;
  readonly era: string;
  readonly who: Person;
  readonly audit: (event: AuditEvent) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Task in a result: SEP-2663 flattens it into the result (`resultType: "task"`), 2025-11-25 nests it in `task`. */
function taskIn(result: unknown, created: boolean): Record<string, unknown> | undefined {
  if (!isObject(result)) return undefined;
  if (created && isObject(result['task'])) return result['task'];
  if (created && result['resultType'] !== 'task') return undefined;
  return typeof result['taskId'] === 'string' ? result : undefined;
}

export class TaskLedger {
  readonly #tasks = new Map<string, OwnedTask>();
  readonly #owner: TaskLedgerOwner;
  readonly #now: () => number;

  constructor(owner: TaskLedgerOwner, now: () => number = Date.now) {
    this.#owner = owner;
    this.#now = now;
  }

  /** The task if this child created it and it has not expired. */
  get(taskId: string): OwnedTask | undefined {
    const task = this.#tasks.get(taskId);
    if (task && task.expires <= this.#now()) {
      this.#tasks.delete(taskId);
      return undefined;
    }
    return task;
  }

  /**
   * The child's answer to a request of `method` (for `tools/call`, of `tool`): a task it creates is remembered, a
   * status it shows is noted, and a `tasks/list` keeps only this child's tasks. The answer, or a narrower copy.
   */
  answered(method: string, tool: string | undefined, message: RpcMessage): RpcMessage {
    const result = 'result' in message ? message.result : undefined;
    if (method === 'tools/call') {
      const task = taskIn(result, true);
      if (task) this.#created(task, tool);
    } else if (method === 'tasks/list') {
      return this.#listed(message, result);
    } else if (TASK_METHODS.has(method)) {
      this.#noted(taskIn(result, false));
    }
    return message;
  }

  /** Whether a child's notification may go on to its client: a task's only when the task is this child's. */
  notified(method: string, params: Record<string, unknown> | undefined): boolean {
    if (!TASK_NOTIFICATIONS.has(method)) return true;
    const taskId = params?.['taskId'];
    if (typeof taskId !== 'string' || !this.get(taskId)) return false;
    this.#noted(params);
    return true;
  }

  #created(task: Record<string, unknown>, tool: string | undefined): void {
    const taskId = task['taskId'];
    if (typeof taskId !== 'string' || this.#tasks.has(taskId)) return;
    if (this.#tasks.size >= MAX_TASKS) this.#tasks.delete(this.#tasks.keys().next().value!);
    const ttl = typeof task['ttlMs'] === 'number' ? task['ttlMs'] : task['ttl'];
    const keep = typeof ttl === 'number' && ttl >= 0 ? Math.min(ttl, MAX_TTL_MS) : MAX_TTL_MS;
    const status = typeof task['status'] === 'string' ? task['status'] : 'working';
    this.#tasks.set(taskId, { tool, status, expires: this.#now() + keep });
    this.#line(taskId, tool, status, true);
  }

  #noted(task: Record<string, unknown> | undefined): void {
    const taskId = task?.['taskId'];
    const status = task?.['status'];
    if (typeof taskId !== 'string' || typeof status !== 'string') return;
    const owned = this.get(taskId);
    if (!owned || owned.status === status) return;
    owned.status = status;
    this.#line(taskId, owned.tool, status, false);
  }

  #listed(message: RpcMessage, result: unknown): RpcMessage {
    if (!isObject(result) || !Array.isArray(result['tasks'])) return message;
    const tasks = result['tasks'].filter(
      (t) => isObject(t) && typeof t['taskId'] === 'string' && this.get(t['taskId']),
    );
    return { ...message, result: { ...result, tasks } } as RpcMessage;
  }

  #line(task: string, tool: string | undefined, status: string, created: boolean): void {
    const { server, session, era, who, audit } = this.#owner;
    audit(auditLine.task(server, session, era, who, { task, tool, status, created }));
  }
}
