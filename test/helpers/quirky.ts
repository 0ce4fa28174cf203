import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { authorizeOverHttp } from '../../lib/dev/index.js';
import { startQuirkyIdp, type QuirkyIdp, type QuirkyUser, type Quirks } from '../../fixtures/idp/provider.js';
import { collect, gatekit, spawnGatekit, waitForStderr, type CliResult } from './cli.js';
import { basicConfig, workspace, type Workspace } from './workspace.js';

/** Fresh users per test: the matrix changes their groups at the provider. */
export function quirkyUsers(): QuirkyUser[] {
  return [
    { email: 'alice@example.com', name: 'Alice', sub: 'u-7f3c9a1e52b04d8e', groups: ['eng'] },
    { email: 'bob@example.com', name: 'Bob', sub: 'AAAAAAAAAAAAAAAAAAAAAJ3xq0Yk1mW9', groups: ['ops', 'eng'] },
  ];
}

/** A provider with these quirks, a workspace whose [idp] points at it, `gatekit init` done; undone after the test. */
export async function quirkySetup(
  t: TestContext,
  quirks: Quirks,
  options: { users?: QuirkyUser[]; idpExtra?: string } = {},
): Promise<{ idp: QuirkyIdp; ws: Workspace }> {
  const idp = await startQuirkyIdp(options.users ?? quirkyUsers(), quirks);
  t.after(() => idp.close());
  const toml = basicConfig(idp.issuer).replace(
    'client_id = "gatekit-cli"\n',
    `client_id = "gatekit-cli"\n${options.idpExtra ?? ''}`,
  );
  const ws = workspace(toml);
  t.after(() => ws.remove());
  assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
  return { idp, ws };
}

/** `broker login --flow pkce`, the person's browser played over HTTP; the CLI's result and the URL it printed. */
export async function pkceLoginCli(ws: Workspace, email: string): Promise<CliResult & { authorizeUrl: URL }> {
  const child = spawnGatekit(['broker', 'login', '--flow', 'pkce'], { env: { ...ws.env, BROWSER: 'true' } });
  const done = collect(child, { timeoutMs: 60_000 });
  const [, url] = await waitForStderr(child, /visit:\s+(http\S+)/);
  await authorizeOverHttp(url!, email);
  return { ...(await done), authorizeUrl: new URL(url!) };
}

/** A token for a server, with its claims read (the broker signed it; these tests only look). */
export interface Minted {
  readonly code: number | null;
  readonly stderr: string;
  readonly claims?: Record<string, unknown>;
}

export async function mintedClaims(ws: Workspace, server: string): Promise<Minted> {
  const r = await gatekit(['broker', 'token', '--resource', server, '--format', 'json'], { env: ws.env });
  if (r.code !== 0) return { code: r.code, stderr: r.stderr };
  const jwt = JSON.parse(r.stdout).access_token as string;
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
  return { code: 0, stderr: r.stderr, claims };
}

/** A loopback port that was free a moment ago, for providers that register one exact redirect URI. */
export function freePort(host: '127.0.0.1' | '::1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
      .once('error', reject)
      .listen(0, host, () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
  });
}
