import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const STUBBORN_SERVER = fileURLToPath(new URL('../../fixtures/servers/stubborn.js', import.meta.url));
export const BROKEN_SERVER = fileURLToPath(new URL('../../fixtures/servers/broken.js', import.meta.url));

/**
 * Two servers whose trees outlive a plain SIGTERM to the daemon's direct child: the stubborn fixture as the
 * grandchild of a `sh -c` wrapper, and the real server-everything as the grandchild of `npm exec` (npx,
 * resolved offline from this repository's node_modules).
 */
export function treeServers(users = '"alice@example.com", "bob@example.com"'): string {
  return `
[servers.stubborn]
command = ["sh", "-c", "\\"${process.execPath}\\" \\"${STUBBORN_SERVER}\\"; echo wrapper done"]
allow_users = [${users}]

[servers.npx]
command = ["npx", "--no-install", "--offline", "@modelcontextprotocol/server-everything", "stdio"]
cwd = "${REPO}"
allow_users = [${users}]
`;
}

/** The running (not zombie) processes of group `pgid`, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
  }
  return members;
}

/** Whether process `pid` runs (a zombie does not). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The command lines of `pids`, for an assertion's message. */
export function describePids(pids: readonly number[]): string {
  return pids
    .map((pid) => {
      try {
        return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
      } catch {
        return `${pid}: (gone)`;
      }
    })
    .join('; ');
}
