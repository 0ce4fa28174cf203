import { GatekitError } from '../errors.js';

/** The CLI's side: an RFC 6749 error body back into a GatekitError with the right exit code. */
export function fromOauthError(status: number, body: { error?: string; error_description?: string }): GatekitError {
  const why = body.error_description ?? body.error ?? `HTTP ${status}`;
  switch (body.error) {
    case 'access_denied':
      return new GatekitError('POLICY_DENIED', `the daemon refused: ${why}`);
    case 'invalid_grant':
      return new GatekitError('LOGIN_REQUIRED', `the daemon did not accept the login: ${why}`, {
        hint: 'run "gatekit broker login"',
      });
    case 'invalid_dpop_proof':
      return new GatekitError('DPOP_INVALID', `the daemon refused the DPoP proof: ${why}`);
    case 'invalid_target':
      return new GatekitError('USAGE', `the daemon does not serve that resource: ${why}`);
    case 'temporarily_unavailable':
      return new GatekitError('IDP_UNREACHABLE', `the daemon could not check the login: ${why}`);
    default:
      return new GatekitError('DAEMON_UNREACHABLE', `the daemon's token endpoint answered ${status}: ${why}`);
  }
}
