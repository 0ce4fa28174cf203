import type { ServerConfig } from '../config/index.js';
import { CHILD_SESSION_VERSION, isResponse, type RpcRequest } from '../mcp/index.js';
import { McpChild } from './child.js';
import { fromDaemon } from './gate.js';
import { exitWords } from './stderr-record.js';

/** A server's error answer to one of a one-off conversation's requests. */
export class AnswerError extends Error {
  readonly method: string;
  constructor(method: string, message: string) {
    super(message);
    this.method = method;
  }
}

/** Why a one-off conversation ended early: the server's exit (explained) or the bound. */
export class ConversationEnded extends Error {}

interface Conversation {
  /** Sends a request and resolves with its result; an error answer rejects with AnswerError. */
  ask(method: string, params?: Record<string, unknown>): Promise<unknown>;
  notify(method: string): void;
}

/**
 * Starts `server` once as the daemon would (its own process group and cgroup, the same environment), as `client`
 * (GATEKIT_USER and friends: nobody's session), sends `initialize`, runs `converse`, then ends the whole tree; all
 * within `timeoutMs`. A server that exits first rejects with ConversationEnded explained as the daemon explains it
 * (exit code or signal, its own error line, the end of its stderr: stderr-record.ts); the bound with `lateWords`.
 */
export function talkOnce<T>(
  server: ServerConfig,
  client: string,
  timeoutMs: number,
  lateWords: string,
  converse: (conversation: Conversation, initialized: unknown) => Promise<T>,
): Promise<T> {
  let nextId = 1;
  const waiting = new Map<number, { method: string; resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  let fail: (e: Error) => void = () => undefined;
  const ended = new Promise<never>((_, reject) => (fail = reject));
  const child = new McpChild(
    server,
    { user: client, sub: client, groups: [] },
    {
      onMessage: (message) => {
        if (!isResponse(message) || typeof message.id !== 'number') return;
        const asked = waiting.get(message.id);
        if (!asked) return;
        waiting.delete(message.id);
        if (message.error) asked.reject(new AnswerError(asked.method, message.error.message));
        else asked.resolve(message.result);
      },
      onExit: (code, signal, explanation) =>
        fail(new ConversationEnded(`${exitWords(code, signal)}${explanation ? `: ${explanation}` : ''}`)),
    },
    true,
  );
  const conversation: Conversation = {
    ask: (method, params) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { method, resolve, reject });
        const request: RpcRequest = { jsonrpc: '2.0', id, method, ...(params ? { params } : {}) };
        // The daemon's own message (no client's): lib/daemon/gate.ts brands it for the child.
        child.send(fromDaemon(request));
      }),
    notify: (method) => child.send(fromDaemon({ jsonrpc: '2.0', method })),
  };
  const timer = setTimeout(() => fail(new ConversationEnded(lateWords)), timeoutMs);
  const talk = conversation
    .ask('initialize', {
      protocolVersion: CHILD_SESSION_VERSION,
      capabilities: {},
      clientInfo: { name: client, version: '1' },
    })
    .then((initialized) => converse(conversation, initialized));
  const settled = Promise.race([talk, ended]);
  settled.catch(() => undefined);
  return settled.finally(() => {
    clearTimeout(timer);
    return child.stop();
  });
}

/** What starting a server once showed: its name and version, or why it did not answer. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Starts `server` once (talkOnce), sends `initialize` and ends the whole tree again, within `timeoutMs`. */
export function probeServer(server: ServerConfig, timeoutMs: number): Promise<ProbeResult> {
  const late = `did not answer initialize within ${timeoutMs / 1000} s`;
  return talkOnce(server, 'gatekit-doctor', timeoutMs, late, async (_, initialized) => {
    const info = (initialized as { serverInfo?: { name?: unknown; version?: unknown } } | undefined)?.serverInfo;
    return { ok: true, detail: `started; initialize answered by ${String(info?.name)} ${String(info?.version)}` };
  }).catch((err: unknown) => {
    if (err instanceof AnswerError) return { ok: false, detail: `initialize failed: ${err.message}` };
    if (err instanceof ConversationEnded) return { ok: false, detail: err.message };
    throw err;
  });
}
