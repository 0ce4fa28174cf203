import { GatekitError, isErrorCode } from '../errors.js';
import { requestText } from '../http/client.js';
import type { CachedToken } from '../store/index.js';
import { configRealPath } from '../store/index.js';
import type { AgentError } from './agent-protocol.js';

/**
 * Asks the `gatekit exec` agent at `socketPath` for a token. lib/http's client over node:http only: `broker token`
 * inside the child stays as light as the cached path.
 */
export async function agentToken(
  socketPath: string,
  resource: string,
  minTtl: number,
  configFile: string,
  dpopProof?: string,
): Promise<CachedToken> {
  const body = JSON.stringify({ resource, min_ttl: minTtl, config: configRealPath(configFile), dpop_proof: dpopProof });
  const { status, text } = await requestText(
    { kind: 'unix', path: socketPath },
    {
      method: 'POST',
      path: '/token',
      headers: { 'content-type': 'application/json' },
      body,
      peer: `the gatekit exec token agent at ${socketPath}`,
      hint: 'the gatekit exec that started this process has ended; unset GATEKIT_AGENT or run again under gatekit exec',
    },
  );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (status === 200 && value) return value as CachedToken;
  const e = (value ?? {}) as Partial<AgentError>;
  throw new GatekitError(
    isErrorCode(e.error) ? e.error : 'INTERNAL',
    e.message ?? `the token agent answered ${status}`,
    {
      hint: e.hint,
    },
  );
}
