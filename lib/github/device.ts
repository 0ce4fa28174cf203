import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import {
  deviceCodeExpired,
  pollDeviceCode,
  type DevicePollAnswer,
  type DevicePrompt,
  type LoginIO,
} from '../provider/index.js';

export interface GithubTokens {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly expires_in?: number;
  readonly scope?: string;
}

async function post(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'gatekit',
      },
      body: new URLSearchParams(form),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (cause) {
    throw new GatekitError(
      'IDP_UNREACHABLE',
      `cannot reach GitHub at ${new URL(url).origin}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body };
}

/**
 * GitHub's device flow: a code from /login/device/code, then polling /login/oauth/access_token,
 * through the shared device-flow poll loop (interval, `slow_down`, back-off, expiry, interruption).
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow
 */
export async function githubDeviceLogin(idp: IdpConfig, io: LoginIO): Promise<GithubTokens> {
  const start = await post(`${idp.issuer}/login/device/code`, {
    client_id: idp.client_id,
    scope: idp.scopes.join(' '),
  });
  const code = start.body as {
    device_code?: string;
    user_code?: string;
    verification_uri?: string;
    expires_in?: number;
    interval?: number;
    error?: string;
    error_description?: string;
  };
  if (start.status !== 200 || !code.device_code || !code.user_code || !code.verification_uri) {
    throw new GatekitError(
      'IDP_ERROR',
      `GitHub refused the device login: ${code.error_description ?? code.error ?? `HTTP ${start.status}`}`,
      {
        hint:
          code.error === 'device_flow_disabled'
            ? 'enable "Device Flow" in the OAuth app\'s settings'
            : 'check [idp] client_id',
      },
    );
  }
  const prompt: DevicePrompt = {
    verification_uri: code.verification_uri,
    user_code: code.user_code,
    expires_at: Math.floor(Date.now() / 1000) + (code.expires_in ?? 900),
  };
  io.onDeviceCode?.(prompt);
  io.say(`To sign in with GitHub, open ${prompt.verification_uri} and enter the code ${prompt.user_code}`);
  if (io.openBrowser) await io.openBrowser(prompt.verification_uri);
  io.say('Waiting for you to approve the login…');

  const deviceCode = code.device_code;
  return pollDeviceCode(() => pollOnce(idp, deviceCode), {
    interval: code.interval,
    expiresIn: code.expires_in ?? 900,
    signal: io.signal,
  });
}

/** One poll of /login/oauth/access_token, its answer in the shared loop's terms. */
async function pollOnce(idp: IdpConfig, deviceCode: string): Promise<DevicePollAnswer<GithubTokens>> {
  let answer;
  try {
    answer = await post(`${idp.issuer}/login/oauth/access_token`, {
      client_id: idp.client_id,
      device_code: deviceCode,
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    });
  } catch (err) {
    if (err instanceof GatekitError && err.code === 'IDP_UNREACHABLE') return { unreachable: true };
    throw err;
  }
  const body = answer.body as unknown as GithubTokens & {
    error?: string;
    error_description?: string;
    interval?: number;
  };
  if (body.access_token) return { done: body };
  switch (body.error) {
    case 'authorization_pending':
      return { pending: 'authorization_pending' };
    case 'slow_down':
      return { pending: 'slow_down', interval: body.interval };
    case 'expired_token':
      throw deviceCodeExpired();
    case 'access_denied':
      throw new GatekitError('LOGIN_REQUIRED', 'the login was denied at GitHub', {
        hint: 'run "gatekit broker login" again',
      });
    default:
      throw new GatekitError(
        'IDP_ERROR',
        `GitHub device login failed: ${body.error_description ?? body.error ?? `HTTP ${answer.status}`}`,
      );
  }
}

/** Renews an expiring GitHub App user token with its refresh token. */
export async function githubRefresh(idp: IdpConfig, refreshToken: string): Promise<GithubTokens> {
  const answer = await post(`${idp.issuer}/login/oauth/access_token`, {
    client_id: idp.client_id,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    ...(idp.client_secret ? { client_secret: idp.client_secret } : {}),
  });
  const body = answer.body as unknown as GithubTokens & { error?: string; error_description?: string };
  if (body.access_token) return body;
  if (body.error === 'bad_refresh_token' || body.error === 'invalid_grant')
    throw new GatekitError('LOGIN_REQUIRED', 'GitHub no longer accepts the login (refresh token revoked or expired)', {
      hint: 'run "gatekit broker login"',
    });
  throw new GatekitError(
    'IDP_ERROR',
    `GitHub refresh failed: ${body.error_description ?? body.error ?? `HTTP ${answer.status}`}`,
  );
}
