/**
 * MCP protocol versions, by what they allow. Versions are dates: they compare as strings.
 * @see https://modelcontextprotocol.io/specification/versioning
 */

/** The first protocol revision without sessions (SEP-2567, SEP-2575). */
export const STATELESS_VERSION = '2026-07-28';

/** The session-era versions (with `initialize`), newest first. */
export const SESSION_VERSIONS: ReadonlySet<string> = new Set([
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
]);

/** Every version the daemon speaks, in either era (an `MCP-Protocol-Version` header must be one). */
export const PROTOCOL_VERSIONS: ReadonlySet<string> = new Set([STATELESS_VERSION, ...SESSION_VERSIONS]);

/** Versions whose POST body may be a JSON-RPC batch (2025-06-18 removed batching). */
export const BATCH_VERSIONS: ReadonlySet<string> = new Set(['2025-03-26', '2024-11-05', '2024-10-07']);

/**
 * The session-era version the daemon speaks to a child on a person's behalf when nobody asked for another (a pooled
 * child's `initialize`, `gatekit doctor`'s probe), and answers a session-era client that asked for one it does not know.
 */
export const CHILD_SESSION_VERSION = '2025-06-18';

/**
 * Whether a protocol version (from `_meta` or `MCP-Protocol-Version`) claims the stateless era: 2026-07-28 or later,
 * known or not. A later unknown one is judged with the body (SEP-2575 UnsupportedProtocolVersionError).
 */
export function isStatelessVersion(version: string | undefined): boolean {
  return version !== undefined && version >= STATELESS_VERSION;
}

/** The version a server assumes of a request without an `MCP-Protocol-Version` header (2025-06-18 transport). */
export const ASSUMED_VERSION = '2025-03-26';
