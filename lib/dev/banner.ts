import type { Config } from '../config/index.js';
import type { DevUser } from './users.js';

/** What `gatekit dev` prints: loud about being for development, then what to run next. */
export function devBanner(
  config: Config,
  issuer: string,
  users: readonly DevUser[],
  password: string,
  command = 'gatekit',
): string {
  const servers = [...config.servers.keys()];
  const first = servers[0] ?? 'NAME';
  const rule = '━'.repeat(72);
  const people = users.map(
    (u) => `    ${u.email.padEnd(22)} groups: ${u.groups.length ? u.groups.join(', ') : '(none)'}`,
  );
  return [
    rule,
    '  DEVELOPMENT ONLY — Gatekit development identity provider',
    `  ${issuer}   (loopback only; users below, password "${password}")`,
    '  Anyone on this machine can log in as any of these people. Never use it for',
    "  anything real: point [idp] at your organisation's OpenID provider instead.",
    rule,
    ...people,
    '',
    `  config: ${config.file}`,
    `  servers: ${servers.join(', ') || '(none configured)'}`,
    '',
    '  Next, in another terminal:',
    `    ${command} broker login --resource ${first}`,
    `    ${command} broker token --resource ${first} --format json`,
    `    ${command} broker status`,
    ...(command === 'npx gatekit'
      ? ['  (in this checkout npx runs its own gatekit; elsewhere the npm name "gatekit" is not this project)']
      : []),
    '',
    '  Ctrl-C stops it.',
    rule,
  ].join('\n');
}
