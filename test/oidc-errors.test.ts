import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gatekit } from './helpers/cli.js';
import { basicConfig, workspace, type Workspace } from './helpers/workspace.js';

/**
 * Identity providers that answer, but not as OpenID Connect asks: the CLI says what it expected and what
 * came, and exits 1 — or 5 when the provider is failing (5xx), which waiting may fix (README "Exit codes").
 */
describe('an identity provider that answers wrongly', () => {
  let server: Server;
  let base: string;
  const spaces: Workspace[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/wrong-issuer/')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: 'https://login.example.com/', token_endpoint: `${base}/token` }));
      } else if (path.startsWith('/html/')) {
        res.setHeader('content-type', 'text/html');
        res.end('<html>a login page</html>');
      } else if (path.startsWith('/down/')) {
        res.writeHead(503).end();
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    for (const ws of spaces) ws.remove();
  });

  async function login(issuer: string) {
    const ws = workspace(basicConfig(issuer));
    spaces.push(ws);
    return gatekit(['broker', 'login', '--flow', 'device'], { env: ws.env });
  }

  it('an issuer mismatch prints both issuers (exit 1)', async () => {
    const r = await login(`${base}/wrong-issuer`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^gatekit: cannot read the discovery document of ${base}/wrong-issuer: its issuer is "https://login\\.example\\.com/", expected "${base}/wrong-issuer"\\nhint: set \\[idp\\] issuer to exactly "https://login\\.example\\.com/" if that is your provider \\(a trailing slash counts\\)\\n$`,
        'm',
      ),
    );
  });

  it('an unexpected HTTP status prints the status and the URL (exit 1)', async () => {
    const r = await login(`${base}/missing`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `gatekit: cannot read the discovery document of ${base}/missing: ${base}/missing/\\.well-known/openid-configuration answered HTTP 404 Not Found\\nhint: check \\[idp\\] issuer: `,
      ),
    );
  });

  it('a page that is not JSON says what came instead (exit 1)', async () => {
    const r = await login(`${base}/html`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /answered HTTP 200 with content-type text\/html, expected JSON\nhint: /);
  });

  it('a failing provider (HTTP 503) is exit 5, as unreachable', async () => {
    const r = await login(`${base}/down`);
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`${base}/down/\\.well-known/openid-configuration answered HTTP 503 Service Unavailable\\n`),
    );
    assert.match(r.stderr, /hint: the identity provider is failing; try again later/);
  });
});
