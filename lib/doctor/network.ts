import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config, ServerConfig } from '../config/index.js';
import { formatListen } from '../config/index.js';
import { fail, pass, type CheckResult } from './result.js';

const TIMEOUT = 3000;

/** The IdP's discovery document answers and names the issuer we configured. */
export async function idpCheck(config: Config): Promise<CheckResult> {
  const idp = config.idp;
  if (!idp) return pass('identity provider', 'none configured (daemon-only host)');
  if (idp.kind === 'github') return pass('identity provider', `GitHub at ${idp.issuer} (no discovery to check)`);
  const url = `${idp.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT) });
    if (!res.ok) return fail('identity provider', `${url} answered ${res.status}`, 'check [idp] issuer');
    const doc = (await res.json()) as { issuer?: string; device_authorization_endpoint?: string };
    if (doc.issuer !== idp.issuer)
      return fail(
        'identity provider',
        `discovery says issuer "${doc.issuer}", config says "${idp.issuer}"`,
        "set [idp] issuer to exactly the provider's issuer",
      );
    return pass(
      'identity provider',
      `${idp.issuer} (device flow ${doc.device_authorization_endpoint ? 'available' : 'not offered'})`,
    );
  } catch (err) {
    const hint = config.dev.idp ? 'start it with "gatekit dev" (npm start)' : 'check the network and [idp] issuer';
    return fail('identity provider', `cannot reach ${url}: ${(err as Error).message}`, hint);
  }
}

/** The daemon answers /healthz on this server's listener (Unix socket, or mTLS with the client certificate). */
export function daemonCheck(config: Config, server: ServerConfig): Promise<CheckResult> {
  const name = `daemon: ${server.name}`;
  const where = formatListen(server.listen);
  return new Promise((resolve) => {
    const done = (r: CheckResult) => resolve(r);
    let req;
    try {
      if (server.listen.kind === 'unix') {
        req = httpRequest({ socketPath: server.listen.path, path: '/healthz', timeout: TIMEOUT });
      } else {
        const tls = config.daemon.client_tls;
        req = httpsRequest({
          host: server.listen.host,
          port: server.listen.port,
          path: '/healthz',
          timeout: TIMEOUT,
          ca: tls ? readFileSync(tls.ca) : undefined,
          cert: tls ? readFileSync(tls.cert) : undefined,
          key: tls ? readFileSync(tls.key) : undefined,
        });
      }
    } catch (err) {
      return done(fail(name, `cannot read the client certificate: ${(err as Error).message}`, 'run "gatekit init"'));
    }
    req.on('response', (res) => {
      res.resume();
      done(
        res.statusCode === 200
          ? pass(name, `${where} healthy`)
          : fail(name, `${where} answered ${res.statusCode}`, "see the daemon's log"),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) =>
      done(
        fail(
          name,
          `${where}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
          `start it: gatekit daemon --config ${config.file}`,
        ),
      ),
    );
    req.end();
  });
}
