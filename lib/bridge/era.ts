/**
 * Which era of MCP the client on `gatekit connect`'s stdio speaks, read from each message, and the headers a
 * 2026-07-28 request needs on its way to the daemon. Pure: the daemon checks the same rules on its side
 * (README, "Two eras of MCP on one listener").
 */

import { encodeHeaderValue, envelopeVersion, isStatelessVersion, nameField, STATELESS_VERSION } from '../mcp/index.js';

export type Era = 'session' | 'stateless';

type Message = Record<string, unknown>;
const isObject = (v: unknown): v is Message => typeof v === 'object' && v !== null && !Array.isArray(v);
const paramsOf = (m: Message): Message | undefined => (isObject(m['params']) ? m['params'] : undefined);

/**
 * The era one message shows, or undefined when it shows none (a response, a notification without an envelope,
 * a batch): an `initialize` is session-era; `server/discover` or a 2026-07-28 (or later) `_meta` version is
 * stateless. A message that shows none goes the way of the client's last one that did.
 */
export function messageEra(message: unknown): Era | undefined {
  if (!isObject(message)) return undefined;
  if (message['method'] === 'initialize') return 'session';
  if (message['method'] === 'server/discover') return 'stateless';
  const version = envelopeVersion(message);
  return isStatelessVersion(version) ? 'stateless' : undefined;
}

/**
 * The headers a 2026-07-28 message carries beside its body, derived from the body so that they always agree
 * with it (SEP-2243): `MCP-Protocol-Version` from the envelope, `Mcp-Method`, and `Mcp-Name` where the method
 * has one. A message without an envelope version gets `MCP-Protocol-Version: 2026-07-28`.
 */
export function statelessHeaders(message: unknown): Record<string, string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': envelopeVersion(message) ?? STATELESS_VERSION };
  if (!isObject(message) || typeof message['method'] !== 'string') return headers;
  const method = message['method'];
  headers['mcp-method'] = method;
  const field = nameField(method);
  const name = field === undefined ? undefined : paramsOf(message)?.[field];
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}
