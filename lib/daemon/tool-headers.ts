import type { IncomingHttpHeaders } from 'node:http';
import { paramHeaderMismatch, scanParamHeaders, type ParamHeader } from '../mcp/index.js';

/**
 * SEP-2243 `Mcp-Param-*` headers checked by the daemon, since a stdio child never sees headers: one pooled child's
 * `x-mcp-header` declarations (each Session has its own), read from its own `tools/list` answers (session.ts calls
 * `note` for every one, the client's and the daemon's own), forgotten on its `notifications/tools/list_changed`.
 * Only tools that declare a header are kept, so a call of any other tool costs two map lookups.
 */
export class ToolHeaders {
  #declared: Map<string, readonly ParamHeader[]> | undefined;

  /** A `tools/list` result of the child's: its tools' declarations join what is known (pages add up). */
  note(result: unknown): void {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return;
    const known = (this.#declared ??= new Map());
    for (const tool of tools as Array<{ name?: unknown; inputSchema?: unknown }>) {
      if (typeof tool?.name !== 'string') continue;
      const declared = scanParamHeaders(tool.inputSchema);
      if (declared !== undefined && declared.length > 0) known.set(tool.name, declared);
      else known.delete(tool.name);
    }
  }

  /** The child said its tool list changed: what it declared is no longer known. */
  forget(): void {
    this.#declared = undefined;
  }

  /** Whether the child's tool list has been seen since it last changed. */
  get known(): boolean {
    return this.#declared !== undefined;
  }

  /**
   * Why a 2026-07-28 `tools/call`'s `Mcp-Param-*` headers disagree with its `arguments` by the child's declarations
   * for that tool (lib/mcp `paramHeaderMismatch`), or undefined: they agree, or the tool declares none.
   */
  mismatch(params: Record<string, unknown> | undefined, headers: IncomingHttpHeaders): string | undefined {
    const name = params?.['name'];
    const declared = typeof name === 'string' ? this.#declared?.get(name) : undefined;
    if (declared === undefined) return undefined;
    return paramHeaderMismatch(declared, params?.['arguments'], (header) => {
      const value = headers[header];
      return Array.isArray(value) ? value.join(', ') : value;
    });
  }
}
