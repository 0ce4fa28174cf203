import { jwtVerify, type JWTPayload } from 'jose';
import { isLogoutToken } from '../../token/index.js';
import { GatekitError } from '../../errors.js';
import { ASYMMETRIC, describeJoseError, invalidSubject, type Discovery, type RemoteKeys } from './idp-metadata.js';

export interface ClientIdentity {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
}

/**
 * Proves that an IdP access token in JWT form (e.g. RFC 9068) was issued to Gatekit's own client:
 * signed with the IdP's JWKS by an asymmetric algorithm, `iss` the IdP, not expired, and its
 * `aud`, `azp` or `client_id` naming our client_id (while `azp` and `client_id`, when present,
 * name nobody else). A token issued to another application is refused however valid it is: that
 * is the confused deputy RFC 8693 §5 and RFC 9068 §4 warn about. Returns the token's claims.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export async function verifyJwtAccessToken(
  token: string,
  keys: RemoteKeys,
  client: ClientIdentity,
): Promise<JWTPayload> {
  let payload: JWTPayload;
  let typ: string | undefined;
  try {
    ({
      payload,
      protectedHeader: { typ },
    } = await jwtVerify(token, keys, {
      issuer: client.issuer,
      algorithms: ASYMMETRIC,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: 60,
    }));
  } catch (err) {
    const why = describeJoseError(err);
    throw invalidSubject(`the access token is not a valid JWT from the identity provider: ${why}`, err);
  }
  if (isLogoutToken(payload, typ)) {
    throw invalidSubject('a logout token is not an access token');
  }
  requireOurClient(payload, client.clientId);
  return payload;
}

/**
 * Proves an opaque access token by RFC 7662 introspection at the IdP's `introspection_endpoint`,
 * authenticated as our client (HTTP Basic with the client secret when one is configured, else
 * `client_id` in the body as a public client): it must be `active` and its `client_id` (or `aud`)
 * must name our client. Returns the introspection response.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export async function introspectAccessToken(
  token: string,
  doc: Discovery,
  client: ClientIdentity,
): Promise<Record<string, unknown>> {
  if (!doc.introspection_endpoint) {
    throw new GatekitError('IDP_ERROR', 'the identity provider has no introspection_endpoint', {
      hint: 'set [daemon] accept_access_tokens to "off" or "jwt"',
    });
  }
  const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (client.clientSecret !== undefined) {
    // RFC 6749 §2.3.1: both parts form-urlencoded before Basic.
    const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
    headers['authorization'] = `Basic ${Buffer.from(basic).toString('base64')}`;
  } else {
    form.set('client_id', client.clientId);
  }
  let res: Response;
  try {
    const signal = AbortSignal.timeout(5000);
    res = await fetch(doc.introspection_endpoint, { method: 'POST', headers, body: form, signal });
  } catch (cause) {
    throw new GatekitError('IDP_UNREACHABLE', "cannot reach the identity provider's introspection endpoint", { cause });
  }
  const answer = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok || !answer) {
    throw new GatekitError('IDP_ERROR', `the identity provider's introspection endpoint answered ${res.status}`);
  }
  if (answer['active'] !== true) {
    throw invalidSubject('the identity provider says the access token is not active for this client');
  }
  if (answer['iss'] !== undefined && answer['iss'] !== client.issuer) {
    throw invalidSubject('the access token is from another issuer');
  }
  if (typeof answer['exp'] === 'number' && answer['exp'] + 60 <= Date.now() / 1000) {
    throw invalidSubject('the access token expired');
  }
  if (typeof answer['sub'] !== 'string') throw invalidSubject('introspection answered without a sub');
  requireOurClient(answer, client.clientId);
  return answer;
}

function requireOurClient(claims: Record<string, unknown>, clientId: string): void {
  const audiences = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
  for (const claim of ['azp', 'client_id']) {
    if (claims[claim] !== undefined && claims[claim] !== clientId) {
      throw invalidSubject(`the access token was issued to another client (${claim})`);
    }
  }
  if (claims['azp'] !== clientId && claims['client_id'] !== clientId && !audiences.includes(clientId)) {
    throw invalidSubject('the access token does not name this client (aud, azp or client_id)');
  }
}
