/**
 * The one error type Gatekit throws for expected failures. Each code maps, in one table, to a CLI exit code,
 * the HTTP status the daemon answers with, its RFC 6750 / RFC 9449 challenge error, its JSON-RPC error code and
 * its RFC 6749 error at the token endpoint (docs/architecture.md, "Where each rule lives": status mapping).
 * Anything that is not a GatekitError is a bug.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'FILE_EXISTS'
  | 'KEY_INVALID'
  | 'LOGIN_REQUIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'DPOP_INVALID'
  | 'POLICY_DENIED'
  | 'IDP_ERROR'
  | 'IDP_UNREACHABLE'
  | 'DAEMON_UNREACHABLE'
  | 'BAD_REQUEST'
  | 'PARSE_ERROR'
  | 'INVALID_PARAMS'
  | 'HEADER_MISMATCH'
  | 'UNSUPPORTED_VERSION'
  | 'METHOD_NOT_FOUND'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'CONFLICT'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'LIMIT_EXCEEDED'
  | 'UNAVAILABLE'
  | 'CHILD_FAILED'
  | 'INTERRUPTED'
  | 'COMMAND_NOT_FOUND'
  | 'INTERNAL';

/** RFC 6750 §3.1 and RFC 9449 §7.1 error names of a resource server's `WWW-Authenticate` challenge. */
export type ChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof';

interface CodeInfo {
  readonly exit: number;
  /** The HTTP status of a daemon (resource server) refusal. */
  readonly status: number;
  /** The challenge's error name when the daemon's door refuses with this code (none: a request without a token). */
  readonly challenge?: ChallengeError;
  /** The JSON-RPC code of an HTTP-level refusal, when not the status's default (MCP 2026-07-28: -32020, -32022). */
  readonly rpc?: number;
  /** RFC 6749 §5.2 / RFC 8693 §2.2.2 / RFC 9449 §5: the token endpoint's error name and status. */
  readonly oauth?: readonly [error: string, status: number];
}

/** JSON-RPC 2.0 §5.1. */
const INVALID_REQUEST = -32600;
const INTERNAL_ERROR = -32603;
const CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  USAGE: { exit: 2, status: 400, oauth: ['unsupported_grant_type', 400] },
  CONFIG_INVALID: { exit: 2, status: 500 },
  FILE_EXISTS: { exit: 1, status: 500 },
  KEY_INVALID: { exit: 2, status: 500 },
  LOGIN_REQUIRED: { exit: 3, status: 401 },
  TOKEN_INVALID: { exit: 1, status: 401, challenge: 'invalid_token', oauth: ['invalid_grant', 400] },
  TOKEN_EXPIRED: { exit: 1, status: 401, challenge: 'invalid_token', oauth: ['invalid_grant', 400] },
  DPOP_INVALID: { exit: 1, status: 401, challenge: 'invalid_dpop_proof', oauth: ['invalid_dpop_proof', 400] },
  POLICY_DENIED: { exit: 4, status: 403, challenge: 'insufficient_scope', oauth: ['access_denied', 403] },
  IDP_ERROR: { exit: 1, status: 502 },
  IDP_UNREACHABLE: { exit: 5, status: 502, oauth: ['temporarily_unavailable', 503] },
  DAEMON_UNREACHABLE: { exit: 5, status: 502 },
  BAD_REQUEST: { exit: 1, status: 400, challenge: 'invalid_request', oauth: ['invalid_request', 400] },
  PARSE_ERROR: { exit: 1, status: 400, rpc: -32700 },
  INVALID_PARAMS: { exit: 1, status: 400, rpc: -32602 },
  HEADER_MISMATCH: { exit: 1, status: 400, rpc: -32020 },
  UNSUPPORTED_VERSION: { exit: 1, status: 400, rpc: -32022 },
  // MCP 2026-07-28: a session-era method sent at 2026-07-28 (SEP-2575), answered 404 like an unknown method.
  METHOD_NOT_FOUND: { exit: 1, status: 404, rpc: -32601 },
  FORBIDDEN: { exit: 4, status: 403 },
  NOT_FOUND: { exit: 1, status: 404, oauth: ['invalid_target', 400] },
  METHOD_NOT_ALLOWED: { exit: 1, status: 405 },
  NOT_ACCEPTABLE: { exit: 1, status: 406 },
  CONFLICT: { exit: 1, status: 409 },
  BODY_TOO_LARGE: { exit: 1, status: 413, oauth: ['invalid_request', 413] },
  UNSUPPORTED_MEDIA_TYPE: { exit: 1, status: 415 },
  LIMIT_EXCEEDED: { exit: 1, status: 429, oauth: ['temporarily_unavailable', 429] },
  UNAVAILABLE: { exit: 5, status: 503, oauth: ['temporarily_unavailable', 503] },
  CHILD_FAILED: { exit: 1, status: 502 },
  INTERRUPTED: { exit: 130, status: 500 },
  COMMAND_NOT_FOUND: { exit: 127, status: 500 },
  INTERNAL: { exit: 1, status: 500 },
};

export interface GatekitErrorOptions {
  hint?: string;
  cause?: unknown;
  /** A JSON-RPC refusal's request id to echo and its error `data` (JSON-RPC 2.0 §5.1). */
  rpc?: { readonly id: string | number | null; readonly data?: unknown };
  /**
   * The config path of the rule that refused (e.g. `servers.fs.allow_groups`): the daemon puts it into the JSON-RPC
   * `error.data.rule` and the audit line's `rule`. A path, never the rule's members.
   */
  rule?: string;
}

export class GatekitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly rpc: GatekitErrorOptions['rpc'];
  readonly rule: string | undefined;

  constructor(code: ErrorCode, message: string, options: GatekitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatekitError';
    this.code = code;
    this.hint = options.hint;
    this.rpc = options.rpc;
    this.rule = options.rule;
  }

  get exitCode(): number {
    return CODES[this.code].exit;
  }
  get httpStatus(): number {
    return CODES[this.code].status;
  }
  /** The daemon door's challenge error name (RFC 6750 §3.1, RFC 9449 §7.1); undefined: no token was sent. */
  get challengeError(): ChallengeError | undefined {
    return CODES[this.code].challenge;
  }
  /** The JSON-RPC error code of an HTTP-level refusal: the table's, else -32603 for a 5xx and -32600 for the rest. */
  get rpcCode(): number {
    const info = CODES[this.code];
    return info.rpc ?? (info.status >= 500 ? INTERNAL_ERROR : INVALID_REQUEST);
  }
}

export function isGatekitError(err: unknown, code?: ErrorCode): err is GatekitError {
  return err instanceof GatekitError && (code === undefined || err.code === code);
}

/** For codes that crossed a process boundary (the token agent, the token endpoint). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(CODES, value);
}

/**
 * The token endpoint's answer to a failure (RFC 6749 §5.2, RFC 8693 §2.2.2): the table's error name and status for
 * a GatekitError that has one (and the `rule` that refused, an extension member), else `server_error` with no detail
 * (a bug's message never leaves the process).
 */
export function oauthError(err: unknown): {
  status: number;
  body: { error: string; error_description: string; rule?: string };
} {
  const mapped = err instanceof GatekitError ? CODES[err.code].oauth : undefined;
  if (!mapped) return { status: 500, body: { error: 'server_error', error_description: 'internal error' } };
  const { message, rule } = err as GatekitError;
  return { status: mapped[1], body: { error: mapped[0], error_description: message, ...(rule ? { rule } : {}) } };
}
