import { hostname } from 'node:os';
import { isLoopbackHost } from './listen.js';
import type { Section } from './section.js';
import type { BrokerConfig, IdpConfig, WorkloadTrust } from './types.js';

/** Hard cap on token lifetime, whatever token_ttl says (docs/security.md; the daemon refuses exp − iat > 1 h). */
const MAX_TOKEN_TTL = 3600;

/** `[idp]`: the identity provider people log in at (OpenID Connect, or GitHub). */
export function checkIdp(s: Section): IdpConfig {
  const kind = s.oneOf('kind', ['oidc', 'github'] as const, 'oidc');
  const github = kind === 'github';
  const issuer = s.string(
    'issuer',
    github ? 'https://github.com' : undefined,
    isIssuerUrl,
    'an https URL (http only on 127.0.0.1/localhost)',
  );
  const idp: IdpConfig = {
    kind,
    issuer: issuer.replace(/\/+$/, ''),
    client_id: s.string('client_id'),
    client_secret: s.optString('client_secret'),
    scopes: s.strings('scopes', github ? ['read:org', 'user:email'] : ['openid', 'email', 'profile', 'offline_access']),
    user_claim: s.string('user_claim', github ? 'login' : 'email'),
    groups_claim: s.string('groups_claim', 'groups'),
    redirect_uri: s.optString('redirect_uri', isLoopbackRedirect, 'an http://127.0.0.1:PORT/PATH URL'),
    api_url: s.optString('api_url', isIssuerUrl, 'an https URL'),
  };
  if (!github && !idp.scopes.includes('openid')) s.fail('scopes', 'a list that includes "openid"');
  s.done();
  return idp;
}

/** `[broker]`: how the CLI gets Gatekit tokens (minted locally, or exchanged at the daemon). */
export function checkBroker(s: Section, path: (p: string) => string): BrokerConfig {
  const mode = s.oneOf('mode', ['local', 'daemon'] as const, 'local');
  const signingKey = s.optString('signing_key');
  const broker: BrokerConfig = {
    mode,
    issuer: s.string('issuer', `urn:gatekit:broker:${hostname()}`),
    signing_key: signingKey === undefined ? (mode === 'local' ? path('keys/broker.jwk') : undefined) : path(signingKey),
    token_ttl: s.duration('token_ttl', 300, MAX_TOKEN_TTL),
  };
  s.done();
  return broker;
}

/** `[[trust.workload]]`: CI jobs that prove themselves with their own OIDC token. */
export function checkWorkload(s: Section): WorkloadTrust {
  const workload: WorkloadTrust = {
    issuer: s
      .string('issuer', undefined, isIssuerUrl, 'an https URL (http only on 127.0.0.1/localhost)')
      .replace(/\/+$/, ''),
    audience: s.string('audience'),
    claims: s.stringMap('claims'),
    user: s.string('user', 'repo:{repository}@{ref}'),
    groups: s.strings('groups'),
  };
  if (Object.keys(workload.claims).length === 0)
    s.fail(
      'claims',
      'at least one condition, e.g. { repository = "my-org/my-repo" }',
      'without conditions any job of that CI provider would be trusted',
    );
  s.done();
  return workload;
}

function isIssuerUrl(v: string): boolean {
  try {
    const u = new URL(v);
    if (u.search || u.hash) return false;
    return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname));
  } catch {
    return false;
  }
}

function isLoopbackRedirect(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]');
  } catch {
    return false;
  }
}
