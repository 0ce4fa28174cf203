import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFakeGithub, type FakeGithub } from '../fixtures/github/server.js';
import { collect, gatekit, spawnGatekit, waitForStderr, type CliResult } from './helpers/cli.js';
import { expireCachedTokens, workspace, type Workspace } from './helpers/workspace.js';

function githubConfig(
  fake: FakeGithub,
  options: { ghes?: boolean; userClaim?: string; allowGroups?: string } = {},
): string {
  return `[idp]
kind = "github"
issuer = "${fake.url}"
client_id = "Ov23liTestClient"
${options.ghes ? '' : `api_url = "${fake.apiUrl}"`}
${options.userClaim ? `user_claim = "${options.userClaim}"` : ''}

[broker]
issuer = "urn:gatekit:broker:test"

[daemon]

[servers.repo]
command = ["node", "repo.js"]
allow_groups = [${options.allowGroups ?? '"my-org/team-149", "other-org/my-team"'}]
`;
}

const PROMPT = /open (\S+) and enter the code (\S+)/;

/** `broker login` against the fake; `act` plays the person at github.com/login/device. */
async function login(
  ws: Workspace,
  fake: FakeGithub,
  act: (code: string) => void = (code) => fake.approve(code, 'octocat'),
): Promise<CliResult> {
  const child = spawnGatekit(['broker', 'login', '--flow', 'device'], { env: ws.env });
  const done = collect(child, { timeoutMs: 60_000 });
  const [, uri, code] = await waitForStderr(child, PROMPT);
  assert.equal(uri, `${fake.url}/login/device`);
  act(code!);
  return done;
}

describe('Sign in with GitHub', () => {
  let fake: FakeGithub;
  const spaces: Workspace[] = [];
  const space = async (toml: string) => {
    const ws = workspace(toml);
    spaces.push(ws);
    assert.equal((await gatekit(['init'], { env: ws.env })).code, 0);
    return ws;
  };
  before(async () => {
    fake = await startFakeGithub();
  });
  after(async () => {
    await fake.close();
    for (const ws of spaces) ws.remove();
  });

  it('device login; identity, orgs and every team (across pages) from the API; a token for a team-gated server', async () => {
    const ws = await space(githubConfig(fake));
    const r = await login(ws, fake);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Logged in as octocat/);
    const status = JSON.parse((await gatekit(['broker', 'status', '--json'], { env: ws.env })).stdout);
    assert.equal(status.sub, '583231');
    assert.equal(status.groups.length, 2 + 150, 'two orgs and all 150 teams');
    assert.ok(status.groups.includes('my-org/team-149') && status.groups.includes('other-org/my-team'));
    const token = await gatekit(['broker', 'token', '--resource', 'repo', '--format', 'json'], { env: ws.env });
    assert.equal(token.code, 0, token.stderr);
    const claims = JSON.parse(Buffer.from(JSON.parse(token.stdout).access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, '583231');
    assert.equal(claims.login, 'octocat');
  });

  it('user_claim = "email": the verified primary email names the person', async () => {
    const ws = await space(githubConfig(fake, { userClaim: 'email' }));
    assert.equal((await login(ws, fake)).code, 0);
    const status = JSON.parse((await gatekit(['broker', 'status', '--json'], { env: ws.env })).stdout);
    assert.equal(status.user, 'octocat@example.com');
  });

  it('user_claim = "email": an unverified primary email is refused, and nothing is stored', async () => {
    const ws = await space(githubConfig(fake, { userClaim: 'email' }));
    fake.options.primaryEmailVerified = false;
    const r = await login(ws, fake).finally(() => {
      fake.options.primaryEmailVerified = true;
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no verified primary email/);
    assert.match(r.stderr, /user_claim = "login"/);
    assert.equal((await gatekit(['broker', 'token', '--resource', 'repo'], { env: ws.env })).code, 3);
  });

  it("a next-page link off the API's origin is not followed: the token never leaves for it", async (t) => {
    const seen: Array<string | undefined> = [];
    const elsewhere = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          elsewhere.closeAllConnections();
          elsewhere.close(() => resolve());
        }),
    );
    const ws = await space(githubConfig(fake));
    fake.options.nextLinkOrigin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const r = await login(ws, fake).finally(() => {
      fake.options.nextLinkOrigin = undefined;
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /next-page link off its own origin/);
    assert.deepEqual(seen, [], 'no request (and no token) reached the other origin');
    assert.doesNotMatch(r.stderr, /gho_/);
  });

  it('someone outside the team is refused with exit 4 naming the rule', async () => {
    const ws = await space(githubConfig(fake, { allowGroups: '"my-org/no-such-team"' }));
    assert.equal((await login(ws, fake)).code, 0);
    const r = await gatekit(['broker', 'token', '--resource', 'repo'], { env: ws.env });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /servers\.repo\.allow_groups/);
  });

  it('slow_down makes the client poll more slowly', async () => {
    const ws = await space(githubConfig(fake));
    fake.options.slowDowns = 1;
    fake.polls.length = 0;
    let approve!: () => void;
    const r = login(ws, fake, (code) => {
      approve = () => fake.approve(code, 'octocat');
    });
    // The first poll is told to slow down; approve once the second (spaced at the new interval) has come.
    await fake.waitForPolls(2, 30_000);
    approve();
    assert.equal((await r).code, 0);
    const gaps = fake.polls.slice(1).map((t, i) => t - fake.polls[i]!);
    assert.ok(gaps[0]! >= 1900, `after slow_down the interval is the new one (2 s): ${gaps.join(', ')}`);
  });

  it('a denied login exits 3 with a clear line; an expired code too', async () => {
    const ws = await space(githubConfig(fake));
    const denied = await login(ws, fake, (code) => fake.deny(code));
    assert.equal(denied.code, 3);
    assert.match(denied.stderr, /denied at GitHub/);
    fake.options.expiresIn = 1;
    const expired = await login(ws, fake, () => {});
    fake.options.expiresIn = 900;
    assert.equal(expired.code, 3);
    assert.match(expired.stderr, /expired/);
    assert.doesNotMatch(denied.stderr + expired.stderr, /\n\s+at /);
  });

  it('a token GitHub revoked: broker token says so and asks for a login (exit 3)', async () => {
    const ws = await space(githubConfig(fake));
    assert.equal((await login(ws, fake)).code, 0);
    fake.revokeAll();
    expireCachedTokens(ws);
    const r = await gatekit(['broker', 'token', '--resource', 'repo'], { env: ws.env });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /GitHub no longer accepts the login/);
    assert.match(r.stderr, /gatekit broker login/);
  });

  it('the API rate limit: one clear line with the reset time, no stack trace', async () => {
    const ws = await space(githubConfig(fake));
    assert.equal((await login(ws, fake)).code, 0);
    expireCachedTokens(ws);
    fake.options.rateLimited = true;
    const r = await gatekit(['broker', 'token', '--resource', 'repo'], { env: ws.env });
    fake.options.rateLimited = false;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rate limit is exhausted; it resets at \d{4}-\d\d-\d\dT/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('GitHub Enterprise Server: the API under /api/v3 of the issuer', async () => {
    const ghes = await startFakeGithub('ghes');
    try {
      const ws = await space(githubConfig(ghes, { ghes: true }));
      assert.equal((await login(ws, ghes)).code, 0);
      assert.equal((await gatekit(['broker', 'token', '--resource', 'repo'], { env: ws.env })).code, 0);
    } finally {
      await ghes.close();
    }
  });

  it('--flow pkce is refused with the reason (GitHub needs a client secret for the web flow)', async () => {
    const ws = await space(githubConfig(fake));
    const r = await gatekit(['broker', 'login', '--flow', 'pkce'], { env: ws.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /device flow/);
  });

  it('logout forgets the login and says how to revoke it at GitHub', async () => {
    const ws = await space(githubConfig(fake));
    assert.equal((await login(ws, fake)).code, 0);
    const r = await gatekit(['broker', 'logout'], { env: ws.env });
    assert.match(r.stderr, /Settings → Applications/);
    assert.equal((await gatekit(['broker', 'token', '--resource', 'repo'], { env: ws.env })).code, 3);
  });
});
