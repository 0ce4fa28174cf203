/**
 * The one error type Gatekit throws for expected failures. Each code maps to a CLI exit code and an
 * HTTP status for the daemon (docs/architecture.md, status mapping). Anything that is not a GatekitError is a bug.
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
  | 'INSUFFICIENT_SCOPE'
  | 'IDP_ERROR'
  | 'IDP_UNREACHABLE'
  | 'DAEMON_UNREACHABLE'
  | 'BAD_REQUEST'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'LIMIT_EXCEEDED'
  | 'CHILD_FAILED'
  | 'INTERRUPTED'
  | 'COMMAND_NOT_FOUND'
  | 'INTERNAL';

interface CodeInfo {
  readonly exit: number;
  readonly status: number;
}

const CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  USAGE: { exit: 2, status: 400 },
  CONFIG_INVALID: { exit: 2, status: 500 },
  FILE_EXISTS: { exit: 1, status: 500 },
  KEY_INVALID: { exit: 2, status: 500 },
  LOGIN_REQUIRED: { exit: 3, status: 401 },
  TOKEN_INVALID: { exit: 1, status: 401 },
  TOKEN_EXPIRED: { exit: 1, status: 401 },
  DPOP_INVALID: { exit: 1, status: 401 },
  POLICY_DENIED: { exit: 4, status: 403 },
  INSUFFICIENT_SCOPE: { exit: 4, status: 403 },
  IDP_ERROR: { exit: 1, status: 502 },
  IDP_UNREACHABLE: { exit: 5, status: 502 },
  DAEMON_UNREACHABLE: { exit: 5, status: 502 },
  BAD_REQUEST: { exit: 1, status: 400 },
  FORBIDDEN: { exit: 4, status: 403 },
  NOT_FOUND: { exit: 1, status: 404 },
  LIMIT_EXCEEDED: { exit: 1, status: 429 },
  CHILD_FAILED: { exit: 1, status: 502 },
  INTERRUPTED: { exit: 130, status: 500 },
  COMMAND_NOT_FOUND: { exit: 127, status: 500 },
  INTERNAL: { exit: 1, status: 500 },
};

export interface GatekitErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class GatekitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: GatekitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatekitError';
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return CODES[this.code].exit;
  }
  get httpStatus(): number {
    return CODES[this.code].status;
  }
}

export function isGatekitError(err: unknown, code?: ErrorCode): err is GatekitError {
  return err instanceof GatekitError && (code === undefined || err.code === code);
}

/** For codes that crossed a process boundary (the token agent, the token endpoint). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(CODES, value);
}
