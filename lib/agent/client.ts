import { request } from 'node:http';
import { GatekitError, isErrorCode } from '../errors.js';
import type { CachedToken } from '../store/index.js';
import { configRealPath } from '../store/index.js';
import type { AgentError } from './protocol.js';

/**
 * Asks the `gatekit exec` agent at `socketPath` for a token. Only node:http: `broker token` inside
 * the child stays as light as the cached path.
 */
export function agentToken(
  socketPath: string,
  resource: string,
  minTtl: number,
  configFile: string,
  dpopProof?: string,
): Promise<CachedToken> {
  const body = JSON.stringify({ resource, min_ttl: minTtl, config: configRealPath(configFile), dpop_proof: dpopProof });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: '/token',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            text += d;
          })
          .on('end', () => {
            let value: unknown;
            try {
              value = JSON.parse(text);
            } catch {
              value = undefined;
            }
            if (res.statusCode === 200 && value) return resolve(value as CachedToken);
            const e = (value ?? {}) as Partial<AgentError>;
            reject(
              new GatekitError(
                isErrorCode(e.error) ? e.error : 'INTERNAL',
                e.message ?? `the token agent answered ${res.statusCode}`,
                { hint: e.hint },
              ),
            );
          });
      },
    );
    req.on('error', (cause) =>
      reject(
        new GatekitError('DAEMON_UNREACHABLE', `cannot reach the gatekit exec token agent at ${socketPath}`, {
          hint: 'the gatekit exec that started this process has ended; unset GATEKIT_AGENT or run again under gatekit exec',
          cause,
        }),
      ),
    );
    req.end(body);
  });
}
