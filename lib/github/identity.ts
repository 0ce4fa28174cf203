import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import type { IdpLogin } from '../token/index.js';
import { apiBase, githubGet } from './api.js';
import type { GithubTokens } from './device.js';

interface GithubUser {
  readonly login: string;
  readonly id: number;
  readonly name?: string | null;
}
interface GithubEmail {
  readonly email: string;
  readonly primary: boolean;
  readonly verified: boolean;
}
interface GithubOrg {
  readonly login: string;
}
interface GithubTeam {
  readonly slug: string;
  readonly organization: { readonly login: string };
}

/**
 * Who the token belongs to, from the API rather than any token claims: /user (login, numeric id →
 * sub), /user/emails for the verified primary email when user_claim = "email", and every page of
 * /user/orgs and /user/teams → groups `org` and `org/team`.
 */
export async function githubIdentity(idp: IdpConfig, tokens: GithubTokens, authTime?: number): Promise<IdpLogin> {
  const api = apiBase(idp);
  const token = tokens.access_token;
  const [user, orgs, teams] = await Promise.all([
    githubGet<GithubUser>(`${api}/user`, token),
    githubGet<GithubOrg[]>(`${api}/user/orgs`, token, true),
    githubGet<GithubTeam[]>(`${api}/user/teams`, token, true),
  ]);
  let email: string | undefined;
  if (idp.user_claim === 'email') {
    const emails = await githubGet<GithubEmail[]>(`${api}/user/emails`, token, true);
    email = emails.find((e) => e.primary && e.verified)?.email;
    if (!email)
      throw new GatekitError('IDP_ERROR', `GitHub user ${user.login} has no verified primary email`, {
        hint: 'verify it at GitHub, or set [idp] user_claim = "login"',
      });
  }
  const groups = [...new Set([...orgs.map((o) => o.login), ...teams.map((t) => `${t.organization.login}/${t.slug}`)])];
  return {
    identity: {
      user: email ?? user.login,
      sub: String(user.id),
      groups,
      auth_time: authTime ?? Math.floor(Date.now() / 1000),
    },
    claims: { login: user.login, id: user.id, ...(user.name ? { name: user.name } : {}), ...(email ? { email } : {}) },
    access_token: token,
    refresh_token: tokens.refresh_token,
    expires_at: tokens.expires_in ? Math.floor(Date.now() / 1000) + tokens.expires_in : undefined,
  };
}
