import { approveDevice } from '../../lib/dev/index.js';

/**
 * Signs `email` in to another application at the test IdP over the real device flow (RFC 8628),
 * as that application would, and returns the tokens the IdP issued to it.
 */
export async function deviceTokensFor(
  issuer: string,
  clientId: string,
  email: string,
): Promise<{ access_token: string; id_token: string }> {
  const doc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  const start = await fetch(doc['device_authorization_endpoint']!, {
    method: 'POST',
    body: new URLSearchParams({ client_id: clientId, scope: 'openid email groups' }),
  });
  const prompt = (await start.json()) as { device_code: string; user_code: string; verification_uri: string };
  await approveDevice(prompt, email);
  const res = await fetch(doc['token_endpoint']!, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: prompt.device_code,
      client_id: clientId,
    }),
  });
  const tokens = (await res.json()) as { access_token?: string; id_token?: string };
  if (!res.ok || !tokens.access_token || !tokens.id_token)
    throw new Error(`device flow for ${clientId} failed: HTTP ${res.status}`);
  return tokens as { access_token: string; id_token: string };
}
