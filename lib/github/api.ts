import { GatekitError } from '../errors.js';
import type { IdpConfig } from '../config/index.js';

/** The REST API base: [idp] api_url, api.github.com for github.com, else GHES's /api/v3. */
export function apiBase(idp: IdpConfig): string {
  if (idp.api_url) return idp.api_url.replace(/\/+$/, '');
  return new URL(idp.issuer).hostname === 'github.com' ? 'https://api.github.com' : `${idp.issuer}/api/v3`;
}

const HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'gatekit',
};

/** A clear line for GitHub's rate-limit answers (403/429 with remaining 0 or retry-after). */
function rateLimited(res: Response): GatekitError | undefined {
  if (res.status !== 403 && res.status !== 429) return undefined;
  const reset = Number(res.headers.get('x-ratelimit-reset'));
  const retryAfter = Number(res.headers.get('retry-after'));
  if (res.headers.get('x-ratelimit-remaining') !== '0' && !retryAfter) return undefined;
  const at = retryAfter ? new Date(Date.now() + retryAfter * 1000) : new Date(reset * 1000);
  const minutes = Math.max(1, Math.ceil((at.getTime() - Date.now()) / 60_000));
  return new GatekitError(
    'IDP_ERROR',
    `GitHub's API rate limit is exhausted; it resets at ${at.toISOString()} (in about ${minutes} min)`,
    {
      hint: 'wait until then; tokens already cached keep working',
    },
  );
}

/**
 * The next page of a list (RFC 8288 `Link: <…>; rel="next"`), only on the API's own origin: the
 * token goes with every request, so a hostile or compromised answer must not send it elsewhere.
 */
function nextPage(link: string | null, current: string, origin: string): string | undefined {
  const target = /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];
  if (target === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(target, current);
  } catch {
    url = new URL('invalid:');
  }
  if (url.origin !== origin) {
    const message = `the GitHub API sent a next-page link off its own origin (${origin}); not following it`;
    throw new GatekitError('IDP_ERROR', message, {
      hint: 'check [idp] api_url; something between Gatekit and GitHub rewrites its answers',
    });
  }
  return url.href;
}

/**
 * GET every page of a GitHub REST list (Link: rel="next", on the API's origin only), or one
 * object. 401 means GitHub no longer accepts the token: a new login is needed.
 */
export async function githubGet<T>(url: string, token: string, all = false): Promise<T> {
  const origin = new URL(url).origin;
  const items: unknown[] = [];
  let next: string | undefined = all ? `${url}${url.includes('?') ? '&' : '?'}per_page=100` : url;
  while (next) {
    let res: Response;
    try {
      res = await fetch(next, {
        headers: { ...HEADERS, authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (cause) {
      throw new GatekitError(
        'IDP_UNREACHABLE',
        `cannot reach the GitHub API at ${new URL(url).origin}: ${(cause as Error).message}`,
        { hint: 'check the network and [idp] api_url', cause },
      );
    }
    if (res.status === 401) {
      throw new GatekitError(
        'LOGIN_REQUIRED',
        'GitHub no longer accepts the login (the token was revoked or expired)',
        { hint: 'run "gatekit broker login"' },
      );
    }
    const limited = rateLimited(res);
    if (limited) throw limited;
    if (!res.ok) {
      const message = await res.json().then(
        (b) => (b as { message?: string }).message,
        () => undefined,
      );
      throw new GatekitError(
        'IDP_ERROR',
        `GitHub API ${new URL(next).pathname} answered ${res.status}${message ? `: ${message}` : ''}`,
        {
          hint:
            res.status === 403
              ? 'the OAuth app may need the read:org scope, or the organisation must approve the app'
              : undefined,
        },
      );
    }
    const body = (await res.json()) as unknown;
    if (!all) return body as T;
    items.push(...(body as unknown[]));
    next = nextPage(res.headers.get('link'), next, origin);
  }
  return items as T;
}
