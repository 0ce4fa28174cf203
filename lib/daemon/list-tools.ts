import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { McpChild } from './child.js';
import { fromDaemon } from './gate.js';
import { isResponse, type RpcRequest } from './jsonrpc.js';
import { exitWords } from './stderr-record.js';

const LIST_IDENTITY = { user: 'gatekit-tools', sub: 'gatekit-tools', groups: [] };
/** Pages of a tool list read at most: a server that pages on forever is not waited for. */
const MAX_PAGES = 64;

/**
 * Starts `server` once as the daemon would (probe.ts: its own process group, the same environment), sends
 * `initialize` and reads every page of `tools/list`, then ends the whole tree; all within `timeoutMs`. For
 * `gatekit tools pin` and `gatekit tools diff`. An exit, an error answer or the bound is a CHILD_FAILED error.
 */
export function listServerTools(server: ServerConfig, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const tools: Array<Record<string, unknown>> = [];
    let nextId = 1;
    let waiting = 0;
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void child.stop().then(() =>
        error === undefined
          ? resolve(tools)
          : reject(
              new GatekitError('CHILD_FAILED', `servers.${server.name}: ${error}`, {
                hint: `run its command yourself to see it fail: ${server.command.join(' ')}`,
              }),
            ),
      );
    };
    const ask = (method: string, params?: Record<string, unknown>) => {
      waiting = nextId++;
      const request: RpcRequest = { jsonrpc: '2.0', id: waiting, method, ...(params ? { params } : {}) };
      child.send(fromDaemon(request));
    };
    let pages = 0;
    const child = new McpChild(
      server,
      LIST_IDENTITY,
      {
        onMessage: (message) => {
          if (!isResponse(message) || message.id !== waiting) return;
          if (message.error) return settle(`${waiting === 1 ? 'initialize' : 'tools/list'}: ${message.error.message}`);
          if (waiting === 1) {
            child.send(fromDaemon({ jsonrpc: '2.0', method: 'notifications/initialized' }));
            return ask('tools/list');
          }
          const result = message.result as { tools?: unknown; nextCursor?: unknown } | undefined;
          if (!Array.isArray(result?.tools)) return settle('tools/list answered without a tools array');
          for (const tool of result.tools as Array<Record<string, unknown>>)
            if (typeof tool?.['name'] === 'string') tools.push(tool);
          if (typeof result.nextCursor !== 'string' || ++pages >= MAX_PAGES) return settle();
          ask('tools/list', { cursor: result.nextCursor });
        },
        onExit: (code, signal, explanation) =>
          settle(`${exitWords(code, signal)}${explanation ? `: ${explanation}` : ''}`),
      },
      true,
    );
    const timer = setTimeout(() => settle(`did not list its tools within ${timeoutMs / 1000} s`), timeoutMs);
    ask('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'gatekit-tools', version: '1' },
    });
  });
}
