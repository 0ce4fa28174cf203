import type { IncomingHttpHeaders } from 'node:http';
import { paramHeaderMismatch, scanParamHeaders, type ParamHeader } from '../mcp/index.js';

/**
 * SEP-2243 `Mcp-Param-*` headers checked by the daemon, since a stdio child never sees headers: each pooled child's
 * `x-mcp-header` declarations, read from its own `tools/list` answers (session.ts calls `noteToolList` for every
 * one, the client's and the daemon's own), forgotten on its `notifications/tools/list_changed`. Only tools that
 * declare a header are kept, so a call of any other tool costs two map lookups.
 */
const declarations = new WeakMap<object, Map<string, readonly ParamHeader[]>>();

/** A `tools/list` result of `child`'s: its tools' declarations join what is known (pages add up). */
export function noteToolList(child: object, result: unknown): void {
  const tools = (result as { tools?: unknown } | undefined)?.tools;
  if (!Array.isArray(tools)) return;
  let known = declarations.get(child);
  if (!known) declarations.set(child, (known = new Map()));
  for (const tool of tools as Array<{ name?: unknown; inputSchema?: unknown }>) {
    if (typeof tool?.name !== 'string') continue;
    const declared = scanParamHeaders(tool.inputSchema);
    if (declared !== undefined && declared.length > 0) known.set(tool.name, declared);
    else known.delete(tool.name);
  }
}

/** `child` said its tool list changed: what it declared is no longer known. */
export function forgetToolList(child: object): void {
  declarations.delete(child);
}

/** Whether `child`'s tool list has been seen since it last changed. */
export function knowsToolList(child: object): boolean {
  return declarations.has(child);
}

/**
 * Why a 2026-07-28 `tools/call`'s `Mcp-Param-*` headers disagree with its `arguments` by `child`'s declarations for
 * that tool (lib/mcp `paramHeaderMismatch`), or undefined: they agree, or the tool declares none.
 */
export function toolHeaderMismatch(
  child: object,
  params: Record<string, unknown> | undefined,
  headers: IncomingHttpHeaders,
): string | undefined {
  const name = params?.['name'];
  const declared = typeof name === 'string' ? declarations.get(child)?.get(name) : undefined;
  if (declared === undefined) return undefined;
  return paramHeaderMismatch(declared, params?.['arguments'], (header) => {
    const value = headers[header];
    return Array.isArray(value) ? value.join(', ') : value;
  });
}
