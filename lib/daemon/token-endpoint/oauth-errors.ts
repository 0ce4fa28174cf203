import { GatekitError, type ErrorCode } from '../../errors.js';

/** RFC 6749 §5.2 / RFC 8693 §2.2.2 error codes, from our one error type. */
const OAUTH: Partial<Record<ErrorCode, { error: string; status: number }>> = {
  BAD_REQUEST: { error: 'invalid_request', status: 400 },
  USAGE: { error: 'unsupported_grant_type', status: 400 },
  TOKEN_INVALID: { error: 'invalid_grant', status: 400 },
  TOKEN_EXPIRED: { error: 'invalid_grant', status: 400 },
  NOT_FOUND: { error: 'invalid_target', status: 400 },
  // RFC 9449 §5: a bad proof on the token request.
  DPOP_INVALID: { error: 'invalid_dpop_proof', status: 400 },
  POLICY_DENIED: { error: 'access_denied', status: 403 },
  IDP_UNREACHABLE: { error: 'temporarily_unavailable', status: 503 },
  LIMIT_EXCEEDED: { error: 'invalid_request', status: 413 },
};

export function oauthError(err: unknown): { status: number; body: { error: string; error_description: string } } {
  const e = err instanceof GatekitError ? err : undefined;
  const mapped = e ? OAUTH[e.code] : undefined;
  if (!e || !mapped) return { status: 500, body: { error: 'server_error', error_description: 'internal error' } };
  return { status: mapped.status, body: { error: mapped.error, error_description: e.message } };
}
