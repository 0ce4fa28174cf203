import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { idpError, isNetworkError, type OidcConfiguration } from './client.js';
import type { IdpLogin } from '../token/index.js';
import { loginFromTokens } from './identity.js';
import {
  deviceCodeExpired,
  pollDeviceCode,
  type DevicePollAnswer,
  type DevicePrompt,
  type LoginIO,
} from '../provider/index.js';

/** Asks the provider for a device code; the person completes the login elsewhere. */
async function startDeviceLogin(
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

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** One poll of the token endpoint, its answer in the shared loop's terms. */
async function pollOnce(
  config: OidcConfiguration,
  deviceCode: string,
): Promise<DevicePollAnswer<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers>> {
  try {
    return { done: await client.genericGrantRequest(config, DEVICE_CODE_GRANT, { device_code: deviceCode }) };
  } catch (err) {
    if (err instanceof client.ResponseBodyError) {
      if (err.error === 'authorization_pending' || err.error === 'slow_down') return { pending: err.error };
      if (err.error === 'access_denied')
        throw new GatekitError('LOGIN_REQUIRED', 'the login was denied at the identity provider', {
          hint: 'run "gatekit broker login" again',
          cause: err,
        });
      if (err.error === 'expired_token') throw deviceCodeExpired(err);
    }
    if (isNetworkError(err)) return { unreachable: true };
    throw idpError(err, 'device login failed');
  }
}

/** Polls the token endpoint (the shared device-flow loop) until the person approves. */
async function finishDeviceLogin(
  config: OidcConfiguration,
  idp: IdpConfig,
  response: client.DeviceAuthorizationResponse,
  signal?: AbortSignal,
): Promise<IdpLogin> {
  const tokens = await pollDeviceCode(() => pollOnce(config, response.device_code), {
    interval: response.interval,
    expiresIn: response.expires_in,
    signal,
  });
  return loginFromTokens(config, idp, tokens);
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
