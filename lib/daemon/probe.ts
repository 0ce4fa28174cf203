import type { ServerConfig } from '../config/index.js';
import { McpChild } from './child.js';
import { fromDaemon } from './gate.js';
import { isResponse } from './jsonrpc.js';
import { exitWords } from './stderr-record.js';

/** Whom a probe's child is started for (GATEKIT_USER and friends): nobody's session. */
const PROBE_IDENTITY = { user: 'gatekit-doctor', sub: 'gatekit-doctor', groups: [] };
const PROBE_ID = 1;

/** What starting a server once showed: its name and version, or why it did not answer. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Starts `server` once as the daemon would (its own process group, the same environment), sends `initialize`
 * and ends the whole tree again, within `timeoutMs`. A server that exits first is explained as the daemon
 * explains it: exit code or signal, its own error line and the end of its stderr (lib/daemon/stderr-record.ts).
 */
export function probeServer(server: ServerConfig, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void child.stop().then(() => resolve(result));
    };
    const child = new McpChild(
      server,
      PROBE_IDENTITY,
      {
        onMessage: (message) => {
          if (!isResponse(message) || message.id !== PROBE_ID) return;
          if (message.error) return settle({ ok: false, detail: `initialize failed: ${message.error.message}` });
          const info = (message.result as { serverInfo?: { name?: unknown; version?: unknown } } | undefined)
            ?.serverInfo;
          settle({
            ok: true,
            detail: `started; initialize answered by ${String(info?.name)} ${String(info?.version)}`,
          });
        },
        onExit: (code, signal, explanation) =>
          settle({ ok: false, detail: `${exitWords(code, signal)}${explanation ? `: ${explanation}` : ''}` }),
      },
      true,
    );
    const timer = setTimeout(
      () => settle({ ok: false, detail: `did not answer initialize within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    // The daemon's own message (no client's): lib/daemon/gate.ts brands it for the child.
    child.send(
      fromDaemon({
        jsonrpc: '2.0',
        id: PROBE_ID,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'gatekit-doctor', version: '1' },
        },
      }),
    );
  });
}
