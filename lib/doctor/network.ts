import type { Config, ServerConfig } from '../config/index.js';
import { formatListen } from '../config/index.js';
import type { GatekitError } from '../errors.js';
import { clientTarget, requestText } from '../http/index.js';
import { fail, pass, type CheckResult } from './result.js';

/** Each network check ends within this, whatever the peer does (a silent or slow-dripping answer included). */
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
export async function daemonCheck(config: Config, server: ServerConfig): Promise<CheckResult> {
  const name = `daemon: ${server.name}`;
  const where = formatListen(server.listen);
  let target;
  try {
    target = clientTarget(config, server.listen, `servers.${server.name}`);
  } catch (err) {
    return fail(name, (err as Error).message, (err as GatekitError).hint ?? 'run "gatekit init"');
  }
  try {
    const hint = `start it: gatekit daemon --config ${config.file}`;
    const { status } = await requestText(target, {
      method: 'GET',
      path: '/healthz',
      timeoutMs: TIMEOUT,
      signal: AbortSignal.timeout(TIMEOUT),
      peer: where,
      hint,
    });
    return status === 200
      ? pass(name, `${where} healthy`)
      : fail(name, `${where} answered ${status}`, "see the daemon's log");
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    const why = cause?.code === 'ABORT_ERR' ? `no answer within ${TIMEOUT / 1000} s` : (cause?.code ?? cause?.message);
    return fail(name, `${where}: ${why}`, (err as GatekitError).hint);
  }
}
