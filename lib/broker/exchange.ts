import type { Config } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { clientTarget, requestText } from '../http/index.js';

export interface ExchangedToken {
  readonly access_token: string;
  readonly expires_in: number;
  readonly scope: string;
}

/**
 * The CLI's half of daemon mode: trades a subject token for a Gatekit token at [daemon] token_listen.
 * With `dpopProof` (RFC 9449 §5, htu = the token endpoint), the token comes back bound to its key.
 */
export async function exchangeToken(
  config: Config,
  subjectToken: string,
  subjectTokenType: string,
  resource: string,
  dpopProof?: string,
): Promise<ExchangedToken> {
  const at = config.daemon.token_listen;
  if (!at)
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: broker.mode = "daemon" needs [daemon] token_listen (the daemon's token endpoint)`,
    );
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    resource,
    subject_token: subjectToken,
    subject_token_type: subjectTokenType,
  }).toString();
  const target = clientTarget(config, at, 'daemon.token_listen');
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (dpopProof !== undefined) headers['dpop'] = dpopProof;
  const { status, text } = await requestText(target, {
    method: 'POST',
    path: '/token',
    headers,
    body,
    peer: "the daemon's token endpoint",
    hint: 'is "gatekit daemon" running with broker.mode = "daemon"?',
  });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    /* reported below */
  }
  if (status === 200 && typeof json['access_token'] === 'string') return json as unknown as ExchangedToken;
  throw fromOauthError(status, json as { error?: string; error_description?: string });
}

/** An RFC 6749 §5.2 error body from the token endpoint back into a GatekitError with the right exit code. */
function fromOauthError(status: number, body: { error?: string; error_description?: string }): GatekitError {
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
