import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerContext } from '../broker/index.js';
import { tokenFor, type DpopBinding } from '../broker/index.js';
import { serverByName, tokenEndpointUrl } from '../config/index.js';
import { DpopReplayCache, verifyDpopProof } from '../token/index.js';
import { GatekitError } from '../errors.js';
import { bindListen, readBody, sendJson } from '../http/index.js';
import type { LoginIO } from '../provider/index.js';
import type { AgentError, AgentTokenRequest } from './agent-protocol.js';

export interface TokenAgent {
  readonly socketPath: string;
  close(): Promise<void>;
}

const MAX_REQUEST = 4096;
const PRIVATE = { mode: 0o600 };

/**
 * Starts the private token agent `gatekit exec` hands to its child: a Unix socket (0600, in a fresh
 * 0700 temp dir) answering token requests from the broker — cache, else refresh and mint. It never
 * starts an interactive login: the child owns the terminal.
 */
export async function startTokenAgent(ctx: BrokerContext, io: LoginIO): Promise<TokenAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-agent-'));
  const socketPath = join(dir, 'agent.sock');
  const handler: RequestListener = (req, res) => {
    void answer(ctx, io, req, res);
  };
  const at = { kind: 'unix', path: socketPath } as const;
  const server = await bindListen(ctx.config, at, handler, { name: 'the token agent', key: 'agent', access: PRIVATE });
  return {
    socketPath,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answer(ctx: BrokerContext, io: LoginIO, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'POST' || req.url !== '/token')
      throw new GatekitError('NOT_FOUND', 'the token agent answers POST /token only');
    const input = parseRequest(await readBody(req, { limit: MAX_REQUEST }));
    if (input.config !== ctx.store.configFile) {
      throw new GatekitError(
        'FORBIDDEN',
        `this gatekit exec token agent serves ${ctx.store.configFile} only; the asking process uses ${input.config}`,
        { hint: 'inside gatekit exec, use its config (GATEKIT_CONFIG), or unset GATEKIT_AGENT and log in with yours' },
      );
    }
    const dpop = input.dpop_proof === undefined ? undefined : await proofBinding(ctx, input.dpop_proof);
    const server = serverByName(ctx.config, input.resource);
    const token = await tokenFor(ctx, { server, minTtl: input.min_ttl, interactive: false, dpop }, io);
    sendJson(res, 200, token);
  } catch (err) {
    const e =
      err instanceof GatekitError ? err : new GatekitError('INTERNAL', 'the token agent failed', { cause: err });
    const body: AgentError = { error: e.code, message: e.message, hint: e.hint };
    sendJson(res, e.httpStatus, body);
  }
}

function parseRequest(body: string): AgentTokenRequest {
  let value: Partial<AgentTokenRequest>;
  try {
    value = JSON.parse(body);
  } catch {
    value = {};
  }
  if (typeof value.resource !== 'string' || typeof value.min_ttl !== 'number' || typeof value.config !== 'string') {
    throw new GatekitError('BAD_REQUEST', 'expected {"resource": NAME, "min_ttl": SECONDS, "config": PATH}');
  }
  if (value.dpop_proof !== undefined && typeof value.dpop_proof !== 'string') {
    throw new GatekitError('BAD_REQUEST', 'dpop_proof must be a string');
  }
  return { resource: value.resource, min_ttl: value.min_ttl, config: value.config, dpop_proof: value.dpop_proof };
}

const replays = new DpopReplayCache(10_000);

/**
 * The caller proves it holds the key it wants its token bound to (RFC 9449 §5's checks, htu the
 * token endpoint URL): the same proof then goes on to the daemon's token endpoint in daemon mode.
 */
async function proofBinding(ctx: BrokerContext, proof: string): Promise<DpopBinding> {
  const url = tokenEndpointUrl(ctx.config.daemon.token_listen);
  try {
    return { jkt: (await verifyDpopProof(proof, { method: 'POST', url, replays })).jkt, proof };
  } catch (err) {
    throw new GatekitError('BAD_REQUEST', `the DPoP proof was refused: ${(err as Error).message}`);
  }
}
