/**
 * The methods MCP defines for a client to send, by kind, from the schemas of both eras (2025-11-25 and the
 * 2026-07-28 draft: the MCP SDK's `ClientRequestSchema` and `ClientNotificationSchema`, v1 and v2).
 */

/** Requests a client sends to a server. */
export const CLIENT_REQUESTS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'completion/complete',
  'logging/setLevel',
  'prompts/get',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'subscriptions/listen',
  'tools/call',
  'tools/list',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'tasks/update',
]);

/** Notifications a client sends to a server; no other message without an id reaches a child. */
export const CLIENT_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/tasks/status',
]);

/** What a server sends: never a client's to send. */
const SERVER_METHODS = [
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
  'notifications/message',
  'notifications/elicitation/complete',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
  'notifications/tools/list_changed',
  'notifications/subscriptions/acknowledged',
];

/** A method name as a lenient reader might match it: lower case, letters and digits only. */
const fold = (method: string): string => method.toLowerCase().replace(/[^a-z0-9]/g, '');
const FOLDED = new Set([...CLIENT_REQUESTS, ...CLIENT_NOTIFICATIONS, ...SERVER_METHODS].map(fold));
const PRINTABLE = /^[\x21-\x7e]{1,200}$/;

/**
 * Whether a request method MCP does not define may still reach a server (a vendor extension): printable ASCII
 * without spaces, at most 200 characters, not in MCP's `notifications/` namespace, and no other spelling of a
 * method MCP defines (`Tools/Call`, `tools/call `, `tools.call`, a look-alike letter), which a server that
 * matches leniently might take for it.
 */
export function isExtensionMethod(method: string): boolean {
  if (!PRINTABLE.test(method)) return false;
  const folded = fold(method);
  return !FOLDED.has(folded) && !folded.startsWith('notifications');
}

/** Session-era requests 2026-07-28 removed (SEP-2575): a 2026-07-28 request for one is answered -32601 / 404. */
export const REMOVED_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);

/** Requests whose 2026-07-28 result the schema marks cacheable: it carries `ttlMs` and `cacheScope` (SEP-2549). */
export const CACHEABLE_RESULTS: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);

/** Requests whose 2026-07-28 result may be `input_required` (SEP-2322 multi round-trip; the SDK's retry-capable ones). */
export const RETRYABLE_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** Server requests that a 2026-07-28 server makes as input requests, with the client capability each needs. */
export const INPUT_REQUESTS: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/** The `logging/setLevel` levels (RFC 5424 severities), least severe first. */
export const LOG_LEVELS: ReadonlySet<string> = new Set([
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
]);
