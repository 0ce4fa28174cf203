import * as client from 'openid-client';
import { GatekitError } from '../errors.js';
import type { IdpConfig } from '../config/index.js';

export type OidcConfiguration = client.Configuration;

function isLoopbackHttp(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/**
 * Reads the provider's discovery document and returns an openid-client configuration for our
 * public client. ID-token signatures are verified (non-repudiation checks on), plain http is
 * allowed only for a loopback issuer (the development provider).
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html
 */
export async function discoverIdp(idp: IdpConfig, options: { timeout?: number } = {}): Promise<OidcConfiguration> {
  const auth = idp.client_secret ? client.ClientSecretPost(idp.client_secret) : client.None();
  try {
    const config = await client.discovery(new URL(idp.issuer), idp.client_id, undefined, auth, {
      execute: isLoopbackHttp(idp.issuer) ? [client.allowInsecureRequests] : [],
      timeout: options.timeout ?? 15,
    });
    client.enableNonRepudiationChecks(config);
    return config;
  } catch (err) {
    throw idpError(err, `cannot read the discovery document of ${idp.issuer}`);
  }
}

/**
 * Translates an openid-client failure into a GatekitError: network trouble is IDP_UNREACHABLE
 * (exit 5), an OAuth error answer is IDP_ERROR or LOGIN_REQUIRED for a dead grant.
 */
export function idpError(err: unknown, context: string): GatekitError {
  if (err instanceof GatekitError) return err;
  if (err instanceof client.ResponseBodyError) {
    const detail = err.error_description ? `${err.error}: ${err.error_description}` : err.error;
    if (err.error === 'invalid_grant') {
      return new GatekitError('LOGIN_REQUIRED', `${context}: the identity provider ended the login (${detail})`, {
        hint: 'run "gatekit broker login"',
        cause: err,
      });
    }
    return new GatekitError('IDP_ERROR', `${context}: the identity provider answered ${detail} (HTTP ${err.status})`, {
      hint: 'it refused the request: check [idp] client_id, client_secret and scopes with its administrator',
      cause: err,
    });
  }
  if (err instanceof client.AuthorizationResponseError) {
    return new GatekitError(
      'IDP_ERROR',
      `${context}: ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`,
      { cause: err },
    );
  }
  if (isNetworkError(err)) {
    return new GatekitError(
      'IDP_UNREACHABLE',
      `${context}: the identity provider is unreachable (${networkReason(err)})`,
      { hint: 'check your network and [idp] issuer, then try again', cause: err },
    );
  }
  const wrong = wrongAnswer(err, context);
  if (wrong) return wrong;
  const message = err instanceof Error ? err.message : String(err);
  return new GatekitError('IDP_ERROR', `${context}: ${message}`, {
    hint: 'run "gatekit doctor" to check the identity provider; --debug shows its answer',
    cause: err,
  });
}

const CHECK_ISSUER = 'check [idp] issuer: {issuer}/.well-known/openid-configuration must be its discovery document';

/**
 * An answer that is not what OpenID Connect asks for, said as what was expected and what came. A 5xx is
 * the provider being down (IDP_UNREACHABLE, exit 5: try again later); any other wrong answer is IDP_ERROR
 * (exit 1: a configuration or provider problem that waiting will not fix).
 */
function wrongAnswer(err: unknown, context: string): GatekitError | undefined {
  if (!(err instanceof client.ClientError)) return undefined;
  const cause = err.cause as
    Response | { expected?: unknown; attribute?: string; body?: Record<string, unknown> } | undefined;
  if (err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' && cause && 'attribute' in cause && cause.attribute) {
    const came = cause.body?.[cause.attribute];
    return new GatekitError(
      'IDP_ERROR',
      `${context}: its ${cause.attribute} is ${JSON.stringify(came)}, expected ${JSON.stringify(cause.expected)}`,
      {
        hint:
          cause.attribute === 'issuer'
            ? `set [idp] issuer to exactly ${JSON.stringify(came)} if that is your provider (a trailing slash counts)`
            : CHECK_ISSUER,
        cause: err,
      },
    );
  }
  if (cause instanceof Response) {
    const type = cause.headers.get('content-type') ?? 'none';
    const what =
      err.code === 'OAUTH_RESPONSE_IS_NOT_JSON'
        ? `HTTP ${cause.status} with content-type ${type}, expected JSON`
        : `HTTP ${cause.status}${cause.statusText ? ` ${cause.statusText}` : ''}`;
    return new GatekitError(
      cause.status >= 500 ? 'IDP_UNREACHABLE' : 'IDP_ERROR',
      `${context}: ${cause.url || 'the identity provider'} answered ${what}`,
      {
        hint: cause.status >= 500 ? 'the identity provider is failing; try again later' : CHECK_ISSUER,
        cause: err,
      },
    );
  }
  return undefined;
}

export function isNetworkError(err: unknown): boolean {
  if (err instanceof TypeError && /fetch failed|network/i.test(err.message)) return true;
  const name = (err as Error | undefined)?.name;
  return name === 'TimeoutError' || (err instanceof client.ClientError && err.code === 'OAUTH_TIMEOUT');
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
