import { KeyObject, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

/**
 * A loopback OpenID issuer whose signing keys the test holds: discovery (listing only RS256 for ID
 * tokens), a JWKS with an RSA key and an EC key, and `sign` for any header and claims — what a
 * hostile or buggy IdP-side party could produce with a key the daemon trusts.
 */
export interface ForgeIdp {
  readonly issuer: string;
  /** The RSA public key as PEM bytes: the "secret" of a key-confusion HS256 forgery. */
  readonly rsaPublicPem: Buffer;
  /** A person's ID token as the IdP would sign it (RS256); override any claim or header field. */
  idToken(claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: 'rsa' | 'ec'): Promise<string>;
  sign(claims: JWTPayload, header?: Record<string, unknown>, key?: 'rsa' | 'ec'): Promise<string>;
  /** What the RFC 7662 introspection endpoint answers for a token (else `active: false`). */
  readonly introspection: Map<string, Record<string, unknown>>;
  /** The Authorization header and form of the last introspection request. */
  lastIntrospection?: { authorization: string | undefined; form: URLSearchParams };
  close(): Promise<void>;
}

export async function startForgeIdp(): Promise<ForgeIdp> {
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  const kids = { rsa: randomBytes(8).toString('hex'), ec: randomBytes(8).toString('hex') };
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: kids.rsa, use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: kids.ec, use: 'sig' },
    ],
  };
  let issuer = '';
  const introspection = new Map<string, Record<string, unknown>>();
  const server = createServer(async (req, res) => {
    const json = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/.well-known/openid-configuration') {
      return json({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        introspection_endpoint: `${issuer}/introspect`,
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
      });
    }
    if (path === '/introspect' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      forge.lastIntrospection = { authorization: req.headers.authorization, form };
      return json(introspection.get(form.get('token') ?? '') ?? { active: false });
    }
    if (path === '/jwks') return json(jwks);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (claims: JWTPayload, header: Record<string, unknown> = {}, key: 'rsa' | 'ec' = 'rsa') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: key === 'rsa' ? 'RS256' : 'ES256', kid: kids[key], ...header })
      .sign(key === 'rsa' ? rsa.privateKey : ec.privateKey);
  const forge: ForgeIdp = {
    issuer,
    introspection,
    rsaPublicPem: Buffer.from(
      KeyObject.from(rsa.publicKey as Parameters<typeof KeyObject.from>[0]).export({ format: 'pem', type: 'spki' }),
    ),
    sign,
    idToken: (claims = {}, header = {}, key = 'rsa') => {
      const now = Math.floor(Date.now() / 1000);
      return sign(
        {
          iss: issuer,
          aud: 'gatekit-cli',
          sub: 'alice-sub',
          email: 'alice@example.com',
          email_verified: true,
          iat: now,
          exp: now + 300,
          ...claims,
        },
        { typ: 'JWT', ...header },
        key,
      );
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return forge;
}
