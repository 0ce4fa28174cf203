import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { idpError, isNetworkError, type OidcConfiguration } from './client.js';
import type { IdpLogin } from '../token/index.js';
import { loginFromTokens } from './identity.js';
import type { DevicePrompt, LoginIO } from './io.js';

const MAX_BACKOFF_S = 60;

/** Asks the provider for a device code; the person completes the login elsewhere. */
export async function startDeviceLogin(
  config: OidcConfiguration,
  idp: IdpConfig,
  reauthenticate = false,
): Promise<client.DeviceAuthorizationResponse> {
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new GatekitError('IDP_ERROR', `${idp.issuer} does not offer the device authorization grant`, {
      hint: 'use --flow pkce',
    });
  }
  try {
    // max_age=0 (OIDC Core §3.1.2.1) makes the provider authenticate the person again; the device
    // authorization request takes the authorization request's parameters (RFC 8628 §3.1).
    const params = { scope: idp.scopes.join(' '), ...(reauthenticate ? { max_age: '0' } : {}) };
    return await client.initiateDeviceAuthorization(config, params);
  } catch (err) {
    throw idpError(err, 'device authorization failed');
  }
}

function devicePrompt(response: client.DeviceAuthorizationResponse): DevicePrompt {
  return {
    verification_uri: response.verification_uri,
    verification_uri_complete: response.verification_uri_complete,
    user_code: response.user_code,
    expires_at: Math.floor(Date.now() / 1000) + response.expires_in,
  };
}

/**
 * Polls the token endpoint until the person approves, honouring the server's interval and
 * `slow_down`, backing off on network errors, and giving up when the code expires.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
async function finishDeviceLogin(
  config: OidcConfiguration,
  idp: IdpConfig,
  response: client.DeviceAuthorizationResponse,
  signal?: AbortSignal,
): Promise<IdpLogin> {
  const expiry = AbortSignal.timeout(response.expires_in * 1000);
  const stop = signal ? AbortSignal.any([signal, expiry]) : expiry;
  let interval = response.interval ?? 5;
  let failures = 0;
  for (;;) {
    try {
      const tokens = await client.pollDeviceAuthorizationGrant(config, { ...response, interval }, undefined, {
        signal: stop,
      });
      return await loginFromTokens(config, idp, tokens);
    } catch (err) {
      if (expiry.aborted)
        throw new GatekitError('LOGIN_REQUIRED', 'the device code expired before the login was approved', {
          hint: 'run "gatekit broker login" again',
        });
      if (signal?.aborted) throw new GatekitError('INTERRUPTED', 'login interrupted');
      if (err instanceof client.ResponseBodyError && err.error === 'access_denied') {
        throw new GatekitError('LOGIN_REQUIRED', 'the login was denied at the identity provider', {
          hint: 'run "gatekit broker login" again',
          cause: err,
        });
      }
      if (err instanceof client.ResponseBodyError && err.error === 'expired_token') {
        throw new GatekitError('LOGIN_REQUIRED', 'the device code expired before the login was approved', {
          hint: 'run "gatekit broker login" again',
          cause: err,
        });
      }
      if (!isNetworkError(err)) throw idpError(err, 'device login failed');
      failures += 1;
      interval = Math.min(MAX_BACKOFF_S, (response.interval ?? 5) * 2 ** failures);
    }
  }
}

/** The whole device flow: the URL and code are always printed, and opened in a browser when one can be. */
export async function deviceLogin(config: OidcConfiguration, idp: IdpConfig, io: LoginIO): Promise<IdpLogin> {
  const response = await startDeviceLogin(config, idp, io.reauthenticate);
  const prompt = devicePrompt(response);
  io.onDeviceCode?.(prompt);
  io.say(`To sign in, open ${prompt.verification_uri} and enter the code ${prompt.user_code}`);
  if (prompt.verification_uri_complete) io.say(`  (or open ${prompt.verification_uri_complete})`);
  if (io.openBrowser) await io.openBrowser(prompt.verification_uri_complete ?? prompt.verification_uri);
  io.say('Waiting for you to approve the login…');
  return finishDeviceLogin(config, idp, response, io.signal);
}
