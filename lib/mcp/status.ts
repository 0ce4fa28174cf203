/**
 * The HTTP status of a JSON-RPC error at 2026-07-28, in one table for the daemon's own refusals and its children's
 * answers. Mirrors the v2 SDK server's `LADDER_ERROR_HTTP_STATUS` and `httpStatusForErrorCode`
 * (@modelcontextprotocol/server, "inbound validation ladder").
 * @see https://modelcontextprotocol.io/specification/draft/basic/transports (SEP-2243, SEP-2575)
 */

/** SEP-2243 HeaderMismatch: a standard or `Mcp-Param-*` header disagrees with the body. */
export const HEADER_MISMATCH = -32020;
/** SEP-2575 MissingRequiredClientCapability: the request needs a capability the client did not declare. */
const MISSING_CAPABILITY = -32021;
/** SEP-2575 UnsupportedProtocolVersion. */
export const UNSUPPORTED_VERSION = -32022;
export const METHOD_NOT_FOUND = -32601;

/**
 * Codes the 2026-07-28 transport answers with an HTTP error status. -32602 (invalid params) is deliberately absent:
 * only the envelope check's -32602 is a 400 (the daemon's own `INVALID_PARAMS`, lib/errors.ts); a method's own
 * invalid-params error stays inside a 200 answer.
 */
const STATUS: Readonly<Record<number, number>> = {
  [-32700]: 400, // parse error
  [-32600]: 400, // invalid request
  [METHOD_NOT_FOUND]: 404,
  [HEADER_MISMATCH]: 400,
  [MISSING_CAPABILITY]: 400,
  [UNSUPPORTED_VERSION]: 400,
};

/**
 * The HTTP status of a 2026-07-28 answer that carries JSON-RPC error `code` (none: 200). `inBand`: the error is a
 * tool's own (a `tools/call` answer): 200, except -32021, whose 400 the spec ties to the code itself (the SDK
 * raises it inside a call, when a tool asks for input the client cannot give). Otherwise the table's status, and
 * 200 for a code it does not name (a server's own codes, -32602, -32603).
 */
export function errorHttpStatus(code: number | undefined, inBand = false): number {
  if (code === undefined) return 200;
  if (inBand) return code === MISSING_CAPABILITY ? 400 : 200;
  return STATUS[code] ?? 200;
}
