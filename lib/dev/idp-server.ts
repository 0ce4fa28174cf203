import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { readBody } from '../http/index.js';
import { loginPage } from './idp-pages.js';
import type { DevUser } from './users.js';
import { DEV_PASSWORD } from './users.js';
import { CLAIMS, SCOPES } from './idp-provider.js';

const INTERACTION = /^\/interaction\/([\w-]+)(\/login)?$/;

/**
 * Does a request's Host name this development IdP itself (a loopback name with its port)? A page on any
 * other name — a DNS-rebinding attack resolving evil.example to 127.0.0.1 — must not drive its logins.
 */
export function isOwnHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const own = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  return own.includes(host.toLowerCase());
}

/** The provider's request handler, with our own interaction (login) pages in front of it. */
export function idpHandler(
  provider: Provider,
  users: readonly DevUser[],
  onGrant: (accountId: string, grantId: string) => void,
): RequestListener {
  const callback = provider.callback();
  return (req, res) => {
    const match = INTERACTION.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!match) return void callback(req, res);
    interaction(provider, users, onGrant, req, res, match[2] !== undefined).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`login failed: ${err.message}`);
    });
  };
}

async function interaction(
  provider: Provider,
  users: readonly DevUser[],
  onGrant: (accountId: string, grantId: string) => void,
  req: IncomingMessage,
  res: ServerResponse,
  submitted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const action = `/interaction/${details.uid}/login`;
  const client = await provider.Client.find(String(details.params['client_id']));
  const show = (error?: string) => {
    res.writeHead(error ? 401 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(action, users, error, client?.clientName));
  };
  if (details.prompt.name === 'consent') {
    // No consent screen: the dev client gets every scope and claim it asks for.
    const accountId = details.session!.accountId;
    const grant =
      (details.grantId && (await provider.Grant.find(details.grantId))) ||
      new provider.Grant({ clientId: String(details.params['client_id']), accountId });
    grant.addOIDCScope(SCOPES.join(' '));
    grant.addOIDCClaims(CLAIMS);
    const grantId = await grant.save();
    onGrant(accountId, grantId);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (req.method !== 'POST' || !submitted) return show();
  const form = new URLSearchParams(await readBody(req, { limit: 8192 }));
  const user = users.find((u) => u.email === form.get('email')?.trim().toLowerCase());
  if (!user || form.get('password') !== DEV_PASSWORD)
    return show('Unknown user or wrong password (every dev user\'s password is "dev").');
  await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
}
