/** A person the development provider knows. `sub` is opaque, as real providers' are. */
export interface DevUser {
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly sub: string;
}

export const DEV_PASSWORD = 'dev';

export const DEV_USERS: readonly DevUser[] = [
  { email: 'alice@example.com', name: 'Alice Liddell', groups: ['eng'], sub: 'u-7f3c9a1e52b04d8e' },
  { email: 'bob@example.com', name: 'Bob Marley', groups: ['ops', 'eng'], sub: 'u-2b8e61d4c9a7f035' },
  { email: 'carol@example.com', name: 'Carol Danvers', groups: [], sub: 'u-c41a0f9e73d25b68' },
];

/** The claims a user has, by OpenID scope. */
export function claimsOf(user: DevUser): { sub: string; [claim: string]: unknown } {
  return { sub: user.sub, email: user.email, email_verified: true, name: user.name, groups: [...user.groups] };
}
