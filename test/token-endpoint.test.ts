import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../lib/config/index.js';
import { startDaemon, type Daemon } from '../lib/daemon/index.js';
import { startDevIdp, type DevIdp } from '../lib/dev/index.js';
import { startWorkloadIssuer, type WorkloadIssuer } from '../fixtures/workload-issuer/server.js';
import { gatekit } from './helpers/cli.js';
import { signHs256, unsigned } from './helpers/forge.js';
import { freePort } from './helpers/daemon-harness.js';
import { deviceLoginCli } from './helpers/login.js';
import { workspace, type Workspace } from './helpers/workspace.js';
import { postToken } from './helpers/token-endpoint.js';

const TYPE = {
  id: 'urn:ietf:params:oauth:token-type:id_token',
  access: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
};

function daemonModeConfig(idp: string, workloadIssuer: string, tokenListen: string, signingKey: boolean): string {
  return `# The test IdPs serve loopback http: allowed only in a [dev] config (docs/security.md).
[dev]

[idp]
issuer = "${idp}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
mode = "daemon"
issuer = "urn:gatekit:broker:shared-host"
${signingKey ? 'signing_key = "keys/broker.jwk"' : ''}

[daemon]
token_listen = "${tokenListen}"
audit_log = "audit.jsonl"

[[trust.workload]]
issuer = "${workloadIssuer}"
audience = "gatekit-ci"
claims = { repository = "octo-org/deploy", ref = "refs/heads/*" }
groups = ["ci"]

[servers.notes]
command = ["node", "notes.js"]
allow_users = ["alice@example.com"]
allow_groups = ["ci"]

[servers.ops]
command = ["node", "ops.js"]
allow_users = ["secret-member@example.com"]
allow_groups = ["ops", "hidden-team"]
`;
}

describe('daemon mode: RFC 8693 token exchange, the key only in the daemon', () => {
  let idp: DevIdp;
  let wi: WorkloadIssuer;
  let host: Workspace;
  let cli: Workspace;
  let daemon: Daemon;
  let socket: string;
  let wiKid = '';
  let wiPublicPem = '';
  const audit = () =>
    readFileSync(join(host.dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const session = () =>
    JSON.parse(
      readFileSync(
        join(
          cli.home,
          readdirSync(cli.home).find((f) => f.endsWith('.session.json'))!,
        ),
        'utf8',
      ),
    );

  before(async () => {
    idp = await startDevIdp({ issuer: 'http://127.0.0.1:0' });
    wi = await startWorkloadIssuer();
    host = workspace('');
    socket = join(host.dir, 'run', 'token.sock');
    host.write(daemonModeConfig(idp.issuer, wi.url, `unix:${socket}`, true));
    assert.equal((await gatekit(['init'], { env: host.env })).code, 0);
    daemon = await startDaemon(loadConfig({ config: host.config }));
    const jwk = ((await (await fetch(`${wi.url}/.well-known/jwks`)).json()) as { keys: Array<Record<string, string>> })
      .keys[0]!;
    wiKid = jwk['kid']!;
    wiPublicPem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
      format: 'pem',
      type: 'spki',
    }) as string;
    cli = workspace(daemonModeConfig(idp.issuer, wi.url, `unix:${socket}`, false));
  });
  after(async () => {
    await daemon.stop();
    await idp.close();
    await wi.close();
    host.remove();
    cli.remove();
  });

  it('the CLI has no signing key, logs in at the IdP, and gets tokens only through the exchange', async () => {
    assert.ok(!existsSync(join(cli.dir, 'keys')) && !readFileSync(cli.config, 'utf8').includes('signing_key'));
    assert.equal((await deviceLoginCli(cli, 'alice@example.com', ['--resource', 'notes'])).code, 0);
    const token = await gatekit(['broker', 'token', '--resource', 'notes'], { env: cli.env });
    assert.equal(token.code, 0, token.stderr);
    const verified = await gatekit(['token', 'verify', token.stdout.trim(), '--resource', 'notes'], { env: host.env });
    assert.equal(verified.code, 0, verified.stderr);
    const claims = JSON.parse(verified.stdout);
    assert.equal(claims.iss, 'urn:gatekit:broker:shared-host');
    assert.equal(claims.email, 'alice@example.com');
    assert.ok(audit().some((l) => l['event'] === 'token.exchange' && l['user'] === 'alice@example.com'));
  });

  it('a real access token is refused by default, though userinfo accepts it (accept_access_tokens is off)', async () => {
    const r = await postToken(socket, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      resource: 'urn:gatekit:server:notes',
      subject_token: session().access_token,
      subject_token_type: TYPE.access,
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body['error'], 'invalid_grant');
    assert.ok(!readFileSync(join(host.dir, 'audit.jsonl'), 'utf8').includes(session().access_token));
  });

  it('the same ID token replayed for a resource the policy refuses: 403 access_denied naming the rule, not its members, and a denied line', async () => {
    const r = await postToken(socket, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      resource: 'urn:gatekit:server:ops',
      subject_token: session().id_token,
      subject_token_type: TYPE.id,
    });
    assert.equal(r.status, 403);
    assert.equal(r.body['error'], 'access_denied');
    assert.equal(r.body['rule'], 'servers.ops.allow_groups');
    for (const member of ['secret-member', 'hidden-team', 'ops]', '"ops"'])
      assert.ok(!r.text.includes(member), `the answer names a member (${member}): ${r.text}`);
    const line = audit().findLast((l) => l['event'] === 'denied' && l['server'] === 'ops');
    assert.equal(line?.['user'], 'alice@example.com');
    assert.equal(line?.['rule'], 'servers.ops.allow_groups');
    assert.ok(!String(line?.['error']).includes('secret-member'));
    const cliToken = await gatekit(['broker', 'token', '--resource', 'ops'], { env: cli.env });
    assert.equal(cliToken.code, 4);
    assert.ok(!cliToken.stderr.includes('secret-member') && !cliToken.stderr.includes('hidden-team'), cliToken.stderr);
  });

  const base = { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', resource: 'urn:gatekit:server:notes' };
  const hostile: Array<[string, () => Promise<Record<string, string>>, number, string, Array<[string, string]>?]> = [
    [
      'an ID token from another issuer',
      async () => ({ ...base, subject_token: await wi.mint({ aud: 'gatekit-cli' }), subject_token_type: TYPE.id }),
      400,
      'invalid_grant',
    ],
    [
      'a workload token for another audience',
      async () => ({
        ...base,
        subject_token: await wi.mint({ aud: 'sts.amazonaws.com' }),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'invalid_grant',
    ],
    [
      'an expired workload token',
      async () => ({ ...base, subject_token: await wi.mint({}, { expiresIn: -120 }), subject_token_type: TYPE.jwt }),
      400,
      'invalid_grant',
    ],
    [
      'alg none',
      async () => ({
        ...base,
        subject_token: unsigned(
          { alg: 'none' },
          {
            iss: wi.url,
            aud: 'gatekit-ci',
            sub: 'x',
            repository: 'octo-org/deploy',
            ref: 'refs/heads/main',
            iat: 1,
            exp: 9_999_999_999,
          },
        ),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'invalid_grant',
    ],
    [
      'HS256 signed with a guessable secret',
      async () => ({
        ...base,
        subject_token: signHs256(
          { alg: 'HS256' },
          {
            iss: wi.url,
            aud: 'gatekit-ci',
            sub: 'x',
            repository: 'octo-org/deploy',
            ref: 'refs/heads/main',
            iat: 1,
            exp: 9_999_999_999,
          },
          'secret',
        ),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'invalid_grant',
    ],
    [
      "HS256 keyed with the issuer's own public key (key confusion)",
      async () => ({
        ...base,
        subject_token: signHs256(
          { alg: 'HS256', kid: wiKid },
          {
            iss: wi.url,
            aud: 'gatekit-ci',
            sub: 'x',
            jti: 'k',
            repository: 'octo-org/deploy',
            ref: 'refs/heads/main',
            iat: 1,
            exp: 9_999_999_999,
          },
          wiPublicPem,
        ),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'invalid_grant',
    ],
    [
      'claims that fail the conditions (another repository)',
      async () => ({
        ...base,
        subject_token: await wi.mint({ repository: 'evil-org/deploy' }),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'invalid_grant',
    ],
    [
      'claims that fail the conditions (a tag, not a branch)',
      async () => ({ ...base, subject_token: await wi.mint({ ref: 'refs/tags/v1' }), subject_token_type: TYPE.jwt }),
      400,
      'invalid_grant',
    ],
    [
      'an access token the IdP does not know',
      async () => ({ ...base, subject_token: 'not-a-real-access-token', subject_token_type: TYPE.access }),
      400,
      'invalid_grant',
    ],
    [
      'an unknown resource',
      async () => ({
        ...base,
        resource: 'urn:gatekit:server:nope',
        subject_token: await wi.mint(),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'invalid_target',
    ],
    [
      'two resources',
      async () => ({ ...base, subject_token: await wi.mint(), subject_token_type: TYPE.jwt }),
      400,
      'invalid_target',
      [['resource', 'urn:gatekit:server:ops']],
    ],
    [
      'the wrong grant type',
      async () => ({
        ...base,
        grant_type: 'client_credentials',
        subject_token: await wi.mint(),
        subject_token_type: TYPE.jwt,
      }),
      400,
      'unsupported_grant_type',
    ],
  ];
  for (const [name, make, status, error, more] of hostile) {
    it(`refuses ${name}: ${status} ${error}, never echoing the token`, async () => {
      const form = await make();
      const r = await postToken(socket, form, more);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body['error'], error);
      assert.equal(r.body['access_token'], undefined);
      const secret = form['subject_token']!.split('.')[1] ?? form['subject_token']!;
      assert.ok(!JSON.stringify(r.body).includes(secret));
      assert.ok(!readFileSync(join(host.dir, 'audit.jsonl'), 'utf8').includes(secret));
    });
  }

  it('failed subject tokens leave auth.failed lines', () => {
    assert.ok(audit().filter((l) => l['event'] === 'auth.failed').length >= 7);
  });

  it("GitHub Actions: broker token fetches the job's OIDC token itself and exchanges it; the audit line names the workload", async () => {
    const r = await gatekit(['broker', 'token', '--resource', 'notes', '--format', 'json'], {
      env: {
        ...cli.env,
        GATEKIT_HOME: join(cli.dir, 'ci-state'),
        CI: 'true',
        ACTIONS_ID_TOKEN_REQUEST_URL: wi.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: wi.requestToken,
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const claims = JSON.parse(Buffer.from(JSON.parse(r.stdout).access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.email, 'repo:octo-org/deploy@refs/heads/main');
    assert.deepEqual(claims.groups, ['ci']);
    assert.ok(
      audit().some((l) => l['event'] === 'token.exchange' && l['workload'] === 'repo:octo-org/deploy@refs/heads/main'),
    );
  });

  it('the token endpoint over loopback mutual TLS', async () => {
    const port = await freePort();
    const tlsHost = workspace(
      daemonModeConfig(idp.issuer, wi.url, `127.0.0.1:${port}`, true).replace(
        '[daemon]',
        '[daemon]\ntls = { ca = "certs/ca.pem", cert = "certs/daemon.pem", key = "certs/daemon.key" }',
      ),
    );
    let tlsDaemon: Daemon | undefined;
    try {
      assert.equal((await gatekit(['init'], { env: tlsHost.env })).code, 0);
      tlsDaemon = await startDaemon(loadConfig({ config: tlsHost.config }));
      const certs = join(tlsHost.dir, 'certs');
      const client = workspace(
        daemonModeConfig(idp.issuer, wi.url, `127.0.0.1:${port}`, false).replace(
          '[daemon]',
          `[daemon]\nclient_tls = { ca = "${certs}/ca.pem", cert = "${certs}/client.pem", key = "${certs}/client.key" }`,
        ),
      );
      try {
        const file = join(client.dir, 'ci-token');
        writeFileSync(file, await wi.mint());
        const r = await gatekit(['broker', 'token', '--resource', 'notes', '--subject-token-file', file], {
          env: { ...client.env, CI: 'true' },
        });
        assert.equal(r.code, 0, r.stderr);
      } finally {
        client.remove();
      }
    } finally {
      await tlsDaemon?.stop();
      tlsHost.remove();
    }
  });

  it('other CI systems: --subject-token-file', async () => {
    const file = join(cli.dir, 'ci-token');
    writeFileSync(file, await wi.mint(), { mode: 0o600 });
    const r = await gatekit(['broker', 'token', '--resource', 'notes', '--subject-token-file', file], {
      env: { ...cli.env, CI: 'true' },
    });
    assert.equal(r.code, 0, r.stderr);
    const bad = join(cli.dir, 'bad-token');
    writeFileSync(bad, await wi.mint({ repository: 'evil-org/x' }));
    const refused = await gatekit(['broker', 'token', '--resource', 'notes', '--subject-token-file', bad], {
      env: { ...cli.env, CI: 'true' },
    });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /repository does not match/);
  });
});
