import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { serverByName } from '../config/index.js';
import { GatekitError } from '../errors.js';
import type { CachedToken } from '../store/index.js';
import { TOKEN_TYPES } from '../token/index.js';
import { exchangeToken } from './exchange.js';

/** Is this a CI job that proves itself with a workload token instead of a person's login? */
export function isWorkload(config: Config, env: NodeJS.ProcessEnv, subjectTokenFile: string | undefined): boolean {
  return (
    subjectTokenFile !== undefined ||
    (config.broker.mode === 'daemon' && config.workloads.length > 0 && Boolean(env['ACTIONS_ID_TOKEN_REQUEST_URL']))
  );
}

/**
 * GitHub Actions' OIDC token for this job, requested with the audience of the first
 * [[trust.workload]] (the job needs `permissions: id-token: write`).
 * @see https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
 */
async function githubActionsToken(config: Config, env: NodeJS.ProcessEnv): Promise<string> {
  const url = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const bearer = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  const audience = config.workloads[0]?.audience;
  if (!url || !bearer)
    throw new GatekitError('LOGIN_REQUIRED', 'no GitHub Actions OIDC token available', {
      hint: 'give the job "permissions: id-token: write"',
    });
  if (!audience)
    throw new GatekitError('CONFIG_INVALID', `${config.file}: no [[trust.workload]] to take the audience from`);
  const target = new URL(url);
  target.searchParams.set('audience', audience);
  let res: Response;
  try {
    res = await fetch(target, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (cause) {
    throw new GatekitError('IDP_UNREACHABLE', "cannot reach GitHub Actions' OIDC token service", { cause });
  }
  const body = (await res.json().catch(() => ({}))) as { value?: string };
  if (!res.ok || !body.value)
    throw new GatekitError('IDP_ERROR', `GitHub Actions refused an OIDC token (HTTP ${res.status})`, {
      hint: 'the job needs "permissions: id-token: write"',
    });
  return body.value;
}

/**
 * `broker token` in CI: the job's own OIDC token (from GitHub Actions, or --subject-token-file for
 * other CI systems) exchanged at the daemon for a Gatekit token. No person, no login, no cache.
 */
export async function workloadToken(
  config: Config,
  serverName: string,
  env: NodeJS.ProcessEnv,
  subjectTokenFile?: string,
): Promise<CachedToken> {
  const server = serverByName(config, serverName);
  let subject: string;
  if (subjectTokenFile !== undefined) {
    try {
      subject = readFileSync(subjectTokenFile, 'utf8').trim();
    } catch (cause) {
      throw new GatekitError(
        'USAGE',
        `cannot read --subject-token-file ${subjectTokenFile}: ${(cause as NodeJS.ErrnoException).code}`,
        { cause },
      );
    }
  } else {
    subject = await githubActionsToken(config, env);
  }
  const t = await exchangeToken(config, subject, TOKEN_TYPES.jwt, server.resource);
  const claims = JSON.parse(Buffer.from(t.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    exp: number;
    iat: number;
    jti: string;
  };
  return {
    access_token: t.access_token,
    expires_at: claims.exp,
    issued_at: claims.iat,
    server: server.name,
    resource: server.resource,
    issuer: config.broker.issuer,
    scope: t.scope,
    jti: claims.jti,
  };
}
