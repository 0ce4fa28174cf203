import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { idpError, type OidcConfiguration } from './client.js';
import type { IdpLogin } from '../token/index.js';
import { loginFromTokens } from './identity.js';
import type { LoginIO } from '../provider/index.js';

const LOGIN_TIMEOUT_MS = 5 * 60_000;

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  res.end(
    `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title>` +
      `<body style="font:16px system-ui;margin:4em auto;max-width:32em"><h1>${esc(title)}</h1><p>${esc(text)}</p></body>`,
  );
}

/**
 * Authorization code flow with PKCE (S256), `state`, `nonce` and the RFC 9207 `iss` check, for a
 * native app: the redirect lands on a one-shot HTTP server on 127.0.0.1 with an ephemeral port
 * (or the fixed [idp] redirect_uri for providers that match redirect URIs exactly).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 * @see https://www.rfc-editor.org/rfc/rfc7636
 */
export async function pkceLogin(config: OidcConfiguration, idp: IdpConfig, io: LoginIO): Promise<IdpLogin> {
  const fixed = idp.redirect_uri ? new URL(idp.redirect_uri) : undefined;
  const callbackPath = fixed?.pathname ?? '/callback';
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();

  let settle!: { resolve: (u: URL) => void; reject: (e: unknown) => void };
  const callback = new Promise<URL>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let redirectUri = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== callbackPath)
      return page(res, 404, 'Not found', 'This is Gatekit’s login callback.');
    if (url.searchParams.get('state') !== state)
      return page(res, 400, 'Login failed', 'This response does not belong to the login in progress.');
    settle.resolve(url);
    const failed = url.searchParams.has('error');
    page(
      res,
      failed ? 400 : 200,
      failed ? 'Login failed' : 'Signed in to Gatekit',
      failed
        ? `The identity provider said: ${url.searchParams.get('error')}. Return to your terminal.`
        : 'You can close this tab and return to your terminal.',
    );
  });
  // Listen where the redirect URI points: a fixed http://[::1]:PORT/… is served on ::1 (RFC 8252 §7.3).
  const host = fixed ? fixed.hostname.replace(/^\[|\]$/g, '') : '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new GatekitError(
          'USAGE',
          `cannot listen for the login callback on ${fixed?.host ?? host}: ${(err as NodeJS.ErrnoException).code}`,
          { cause: err },
        ),
      ),
    );
    server.listen(fixed ? Number(fixed.port || 80) : 0, host, resolve);
  });
  redirectUri = fixed ? fixed.href : `http://127.0.0.1:${(server.address() as AddressInfo).port}${callbackPath}`;

  const timer = setTimeout(
    () =>
      settle.reject(
        new GatekitError('LOGIN_REQUIRED', 'no answer from the browser within 5 minutes', {
          hint: 'run "gatekit broker login" again, or use --flow device',
        }),
      ),
    LOGIN_TIMEOUT_MS,
  );
  const onAbort = () => settle.reject(new GatekitError('INTERRUPTED', 'login interrupted'));
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: idp.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(io.reauthenticate ? { max_age: '0', prompt: 'login' } : {}),
    });
    io.say(
      io.openBrowser
        ? `Opening your browser to sign in. If it does not open, visit:\n  ${authorizationUrl.href}`
        : `To sign in, open this URL in a browser on this machine:\n  ${authorizationUrl.href}`,
    );
    if (io.openBrowser) await io.openBrowser(authorizationUrl.href);
    io.say('Waiting for you to finish signing in…');
    const returned = await callback;
    try {
      const tokens = await client.authorizationCodeGrant(config, returned, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });
      return await loginFromTokens(config, idp, tokens);
    } catch (err) {
      throw idpError(err, 'login failed');
    }
  } finally {
    clearTimeout(timer);
    io.signal?.removeEventListener('abort', onAbort);
    server.closeAllConnections();
    server.close();
  }
}
