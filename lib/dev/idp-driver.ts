import { GatekitError } from '../errors.js';
import { DEV_PASSWORD } from './users.js';

/**
 * A person at the development provider's pages, over plain HTTP: follows redirects, keeps cookies,
 * submits the forms the pages show. `gatekit dev --demo` logs in with it, and the tests do too;
 * it only uses what a browser would see.
 */
class WebUser {
  readonly #cookies = new Map<string, string>();

  async open(
    url: string,
    form?: Record<string, string>,
    stopAt?: (url: URL) => boolean,
  ): Promise<{ url: URL; status: number; html: string }> {
    let current = new URL(url);
    let init: RequestInit = form ? { method: 'POST', body: new URLSearchParams(form) } : { method: 'GET' };
    for (let hop = 0; hop < 20; hop++) {
      if (stopAt?.(current)) return { url: current, status: 0, html: '' };
      const res = await fetch(current, { ...init, redirect: 'manual', headers: { cookie: this.#cookieHeader() } });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        this.#cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current);
        init = { method: 'GET' };
        continue;
      }
      return { url: current, status: res.status, html: await res.text() };
    }
    throw new GatekitError('IDP_ERROR', 'too many redirects at the development identity provider');
  }

  #cookieHeader(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** The fields and action of the form with this id (or the first form) in a page. */
function formIn(html: string, base: URL, id?: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = id ? forms.find((f) => f[1]!.includes(`id="${id}"`)) : forms[0];
  if (!form) throw new GatekitError('IDP_ERROR', `expected a form${id ? ` "${id}"` : ''} on ${base.pathname}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input\b([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(input[1]!)?.[1];
    if (name) fields[name] = /value="([^"]*)"/.exec(input[1]!)?.[1] ?? '';
  }
  const action = /action="([^"]*)"/.exec(form[1]!)?.[1] ?? base.pathname;
  return { action: new URL(action.replace(/&amp;/g, '&'), base).href, fields };
}

async function signIn(user: WebUser, page: { url: URL; html: string }, email: string, stopAt?: (url: URL) => boolean) {
  const login = formIn(page.html, page.url, 'login');
  return user.open(login.action, { email, password: DEV_PASSWORD }, stopAt);
}

export interface DeviceApproval {
  readonly verification_uri: string;
  readonly user_code: string;
}

/** Completes the person's half of a device login: enter the code, confirm (or deny), sign in as `email`. */
export async function approveDevice(
  prompt: DeviceApproval,
  email: string,
  options: { deny?: boolean } = {},
): Promise<void> {
  const user = new WebUser();
  const entry = await user.open(prompt.verification_uri);
  const input = formIn(entry.html, entry.url, 'op.deviceInputForm');
  const confirmPage = await user.open(input.action, { ...input.fields, user_code: prompt.user_code });
  const confirm = formIn(confirmPage.html, confirmPage.url, 'op.deviceConfirmForm');
  const next = await user.open(confirm.action, options.deny ? { ...confirm.fields, abort: 'yes' } : confirm.fields);
  if (options.deny) return;
  const done = await signIn(user, next, email);
  if (!/Signed in/.test(done.html))
    throw new GatekitError('IDP_ERROR', `device approval did not finish (HTTP ${done.status} at ${done.url.pathname})`);
}

/**
 * Follows an authorization URL as a person would, signs in as `email`, and finally opens the
 * redirect to the client (its loopback listener). Returns that last URL.
 */
export async function authorizeOverHttp(authorizationUrl: string, email: string): Promise<string> {
  const user = new WebUser();
  const issuer = new URL(authorizationUrl).origin;
  const leaves = (u: URL) => u.origin !== issuer;
  const page = await user.open(authorizationUrl, undefined, leaves);
  const back = leaves(page.url) ? page : await signIn(user, page, email, leaves);
  if (!leaves(back.url))
    throw new GatekitError(
      'IDP_ERROR',
      `sign-in did not return to the client (HTTP ${back.status} at ${back.url.pathname})`,
    );
  await user.open(back.url.href);
  return back.url.href;
}
