import type { IncomingHttpHeaders } from 'node:http';
import {
  CACHEABLE_RESULTS,
  decodeHeaderValue,
  envelopeVersion,
  HEADER_MISMATCH,
  isStatelessVersion,
  META_CLIENT_CAPABILITIES,
  METHOD_NOT_FOUND,
  nameField,
  REMOVED_METHODS,
  STATELESS_VERSION,
  UNSUPPORTED_VERSION,
  isRequest,
  type RpcMessage,
  type RpcRequest,
} from '../../mcp/index.js';
import { ERRORS } from '../jsonrpc.js';

export type Era = 'session' | 'stateless';
/** A refusal names its HTTP status (400 unless said), the request's id to echo, and any error `data`. */
export type EraVerdict =
  | { readonly ok: true; readonly era: Era }
  | {
      readonly ok: false;
      readonly era: Era;
      readonly code: number;
      readonly message: string;
      readonly status: number;
      readonly id: string | number | null;
      readonly data?: unknown;
    };

const single = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h.join(',') : h);

/**
 * The wire of MCP 2026-07-28 as far as the daemon reads it: no protocol session, the version, client info and
 * capabilities in every request's `_meta` (SEP-2575), and the standard headers `Mcp-Method` / `Mcp-Name` that must
 * agree with the body (SEP-2243); the words are lib/mcp's.
 *
 * Decides the era of one POST from its parsed body, with the headers as a cross-check, before anything
 * else happens to it. Session-era: an `Mcp-Session-Id`, an `initialize`, or no modern version anywhere.
 * Stateless: a 2026-07-28 `_meta` version and no session. Every disagreement between a header and the
 * body, in either era, is refused with -32020; policy is then decided on the body alone.
 */
export function classifyEra(headers: IncomingHttpHeaders, messages: readonly RpcMessage[], batch: boolean): EraVerdict {
  const headerVersion = single(headers['mcp-protocol-version']);
  const method = single(headers['mcp-method']);
  const name = single(headers['mcp-name']);
  const hasSession = headers['mcp-session-id'] !== undefined;
  const bodyVersions = messages.map(envelopeVersion);
  const modernBody = bodyVersions.some(isStatelessVersion);
  const era: Era = !hasSession && (modernBody || isStatelessVersion(headerVersion)) ? 'stateless' : 'session';
  const first = messages[0]!;
  // SEP-2575 (2026-07-28 transport): every error response carries the request's JSON-RPC id.
  const id =
    !batch && 'id' in first && (typeof first.id === 'string' || typeof first.id === 'number') ? first.id : null;
  const refuse = (message: string, code: number = HEADER_MISMATCH, status = 400, data?: unknown): EraVerdict => ({
    ok: false,
    era,
    code,
    message,
    status,
    id,
    ...(data === undefined ? {} : { data }),
  });

  if (batch && modernBody)
    return refuse('a 2026-07-28 request cannot travel in a JSON-RPC batch', ERRORS.INVALID_REQUEST);
  if ((method !== undefined || name !== undefined) && batch)
    return refuse('Mcp-Method/Mcp-Name cannot describe a batch');
  const bodyMethod = 'method' in first ? first.method : undefined;
  if (method !== undefined && method !== bodyMethod)
    return refuse("the Mcp-Method header does not match the body's method");
  const source = nameField(bodyMethod);
  const params = (first as RpcRequest).params;
  const bodyName =
    source !== undefined && typeof params?.[source] === 'string' ? (params[source] as string) : undefined;
  if (name !== undefined && (bodyName === undefined || decodeHeaderValue(name) !== bodyName)) {
    return refuse('the Mcp-Name header does not match the body');
  }
  if (era === 'session') {
    if (modernBody) return refuse('a 2026-07-28 request cannot use an Mcp-Session-Id');
    return { ok: true, era };
  }
  const version = bodyVersions[0];
  if (version === undefined)
    return refuse('a 2026-07-28 request carries its version in params._meta', ERRORS.INVALID_PARAMS);
  if (headerVersion !== undefined && headerVersion !== version)
    return refuse('MCP-Protocol-Version does not match the body');
  if (version !== STATELESS_VERSION) {
    // SEP-2575 UnsupportedProtocolVersionError: `data` lists what is supported and echoes what was asked.
    const data = { supported: [STATELESS_VERSION], requested: version.slice(0, 100) };
    return refuse(`unsupported protocol version "${version.slice(0, 40)}"`, UNSUPPORTED_VERSION, 400, data);
  }
  if (isRequest(first)) {
    const meta = params?.['_meta'] as Record<string, unknown>;
    const capabilities = meta[META_CLIENT_CAPABILITIES];
    if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities))
      return refuse(`a 2026-07-28 request carries ${META_CLIENT_CAPABILITIES} in params._meta`, ERRORS.INVALID_PARAMS);
    if (REMOVED_METHODS.has(first.method))
      return refuse(`${first.method} is not a 2026-07-28 method`, METHOD_NOT_FOUND, 404);
    if (headerVersion === undefined || method === undefined)
      return refuse('a 2026-07-28 request needs MCP-Protocol-Version and Mcp-Method');
    if (bodyName !== undefined && name === undefined) return refuse(`a ${bodyMethod} request needs Mcp-Name`);
  }
  return { ok: true, era };
}

/**
 * A child's result as a 2026-07-28 client expects it: `resultType: "complete"`, and on cacheable results
 * `ttlMs: 0` with `cacheScope: "private"` — every answer is made for one person (SEP-2549).
 */
export function toStatelessResult(method: string, result: unknown): Record<string, unknown> {
  const base = typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
  // A native 2026-07-28 child sets its own (e.g. "input_required" for its own rounds); a session-era child never does.
  const resultType = typeof base['resultType'] === 'string' ? base['resultType'] : 'complete';
  return { ...base, resultType, ...(CACHEABLE_RESULTS.has(method) ? { ttlMs: 0, cacheScope: 'private' } : {}) };
}
