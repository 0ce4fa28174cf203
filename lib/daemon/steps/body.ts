import { GatekitError, type ErrorCode } from '../../errors.js';
import { readBody } from '../../http/index.js';
import {
  ASSUMED_VERSION,
  BATCH_VERSIONS,
  METHOD_NOT_FOUND,
  UNSUPPORTED_VERSION,
  isValidMessage,
  type RpcMessage,
} from '../../mcp/index.js';
import { classifyEra } from '../era/index.js';
import { ERRORS } from '../jsonrpc.js';
import type { RequestContext } from '../state.js';

export interface Body {
  readonly messages: readonly RpcMessage[];
  readonly batch: boolean;
}

/**
 * A POST's body: `Content-Type` (UNSUPPORTED_MEDIA_TYPE), at most `max_body_bytes` (BODY_TOO_LARGE), JSON
 * (PARSE_ERROR), batches only where the protocol version has them, JSON-RPC 2.0 messages (BAD_REQUEST), then the
 * era (lib/daemon/era): the Mcp-* headers checked against the parsed body (HEADER_MISMATCH, UNSUPPORTED_VERSION).
 */
export async function readMessages(ctx: RequestContext): Promise<Body> {
  const { req } = ctx;
  if (!String(req.headers['content-type'] ?? '').includes('application/json'))
    throw new GatekitError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  const text = await readBody(req, {
    limit: ctx.state.config.daemon.limits.max_body_bytes,
    limitName: 'max_body_bytes',
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatekitError('PARSE_ERROR', 'Parse error: the body is not JSON');
  }
  const batch = Array.isArray(parsed);
  const messages = (batch ? parsed : [parsed]) as unknown[];
  const version = req.headers['mcp-protocol-version'];
  if (batch && (messages.length === 0 || !BATCH_VERSIONS.has(typeof version === 'string' ? version : ASSUMED_VERSION)))
    throw new GatekitError('BAD_REQUEST', 'JSON-RPC batches are not allowed for this protocol version');
  if (!messages.every(isValidMessage))
    throw new GatekitError('BAD_REQUEST', 'Invalid Request: not JSON-RPC 2.0 messages');
  const era = classifyEra(req.headers, messages, batch);
  ctx.era = era.era;
  if (!era.ok) {
    const rpc = { id: era.id, ...(era.data === undefined ? {} : { data: era.data }) };
    throw new GatekitError(ERA_CODES[era.code] ?? 'HEADER_MISMATCH', era.message, { rpc });
  }
  return { messages, batch };
}

/** lib/daemon/era's JSON-RPC codes back to the error table's codes, which hold them (lib/errors.ts). */
const ERA_CODES: Readonly<Record<number, ErrorCode>> = {
  [ERRORS.INVALID_REQUEST]: 'BAD_REQUEST',
  [ERRORS.INVALID_PARAMS]: 'INVALID_PARAMS',
  [UNSUPPORTED_VERSION]: 'UNSUPPORTED_VERSION',
  [METHOD_NOT_FOUND]: 'METHOD_NOT_FOUND',
};
