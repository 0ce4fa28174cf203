import { createHash } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { auditLine, type AuditEvent } from '../../audit/index.js';
import { tokenEndpointUrl, type Config } from '../../config/index.js';
import { GatekitError, isGatekitError, oauthError } from '../../errors.js';
import { bindListen, readBody, sendJson } from '../../http/index.js';
import { issueAccessToken } from '../../issue/index.js';
import { DpopReplayCache, loadSigningKey, verifyDpopProof, type SigningKey } from '../../token/index.js';
import { RefusalTally } from '../refusal-tally.js';
import { FailureLimiter, peerOf } from './rate-limit.js';
import { ReplayGuard } from './replay.js';
import { SubjectVerifier } from './subject.js';

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const MAX_BODY = 64 * 1024;

export interface TokenEndpoint {
  reload(config: Config): Promise<void>;
  close(): Promise<void>;
}

interface State {
  readonly config: Config;
  readonly key: SigningKey;
  readonly subjects: SubjectVerifier;
}

/**
 * The daemon-held signing key's only door (docs/security.md, daemon mode): `POST /token`, OAuth 2.0 Token Exchange
 * (RFC 8693) with one `resource` (RFC 8707). It verifies the subject token, applies the same
 * policy as local mode and returns the same token. Nothing is stored; errors never echo the token.
 * A peer with too many failed exchanges gets 429 (lib/daemon/token-endpoint/rate-limit.ts); a token issued to a
 * caller that presented a client certificate is bound to it (`cnf.x5t#S256`, RFC 8705 §3), one that
 * sent a DPoP proof to the proof's key (`cnf.jkt`, RFC 9449 §5; the proof wins over the certificate).
 * While the audit log cannot be written (`auditFailure` says why) it issues nothing: 503 with the error code
 * `temporarily_unavailable` (RFC 6749 §4.1.2.1), as the MCP listeners refuse (lib/daemon/handler.ts).
 */
export async function startTokenEndpoint(
  config: Config,
  audit: (event: AuditEvent) => void,
  auditFailure: () => string | undefined,
): Promise<TokenEndpoint> {
  const listenAt = config.daemon.token_listen;
  if (!listenAt)
    throw new GatekitError('CONFIG_INVALID', `${config.file}: broker.mode = "daemon" needs [daemon] token_listen`, {
      hint: 'e.g. token_listen = "unix:run/token.sock"',
    });
  const load = async (c: Config): Promise<State> => {
    if (!c.broker.signing_key)
      throw new GatekitError(
        'CONFIG_INVALID',
        `${c.file}: the daemon signs in daemon mode and needs broker.signing_key`,
        { hint: 'signing_key = "keys/broker.jwk", then "gatekit init"' },
      );
    limiter.max = c.daemon.limits.max_failed_exchanges;
    return { config: c, key: await loadSigningKey(c.broker.signing_key), subjects: new SubjectVerifier(c, replays) };
  };
  // These outlive a SIGHUP reload: a reload must not reset a replay record or a failure count.
  const replays = new ReplayGuard();
  /** Proof jtis seen at this endpoint (RFC 9449 §11.1), for as long as it runs. */
  const proofs = new DpopReplayCache();
  const limiter = new FailureLimiter(config.daemon.limits.max_failed_exchanges);
  const refusals = new RefusalTally(audit);
  let state = await load(config);
  const handler: RequestListener = (req, res) => {
    // Both refusals take their status and error name from the error table (lib/errors.ts), like every other.
    if (auditFailure() !== undefined) {
      req.resume();
      const { status, body } = oauthError(
        new GatekitError('UNAVAILABLE', 'the audit log cannot be written; retry later'),
      );
      return send(res, status, body, { 'retry-after': '1' });
    }
    const peer = peerOf(req);
    const wait = limiter.retryAfter(peer);
    if (wait > 0) {
      // One line as the peer's limit starts, one more, then a count when the window ends (refusal-tally.ts).
      refusals.write(
        peer,
        auditLine.authFailed(undefined, 'token-exchange', 'too many failed exchanges from this peer'),
      );
      req.resume();
      const { status, body } = oauthError(new GatekitError('LIMIT_EXCEEDED', 'too many failed exchanges; retry later'));
      return send(res, status, body, { 'retry-after': String(wait) });
    }
    exchange(state, proofs, req, audit).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        const { status, body } = oauthError(err);
        if (status >= 400 && status < 500) limiter.fail(peer);
        send(res, status, body);
      },
    );
  };
  // Mode 0666: the socket grants nothing without a subject token the daemon accepts.
  const access = { mode: 0o666 };
  const server = await bindListen(config, listenAt, handler, {
    name: 'the token endpoint',
    key: 'daemon.token_listen',
    access,
    maxConnections: config.daemon.limits.token_max_connections,
  });
  return {
    reload: async (c) => {
      state = await load(c);
      refusals.flush();
    },
    close: () =>
      new Promise((resolve) => {
        refusals.flush();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * RFC 9449 §5: the key of the request's DPoP proof (htm POST, htu the token endpoint's URL, see
 * tokenEndpointUrl), or undefined when none was sent. A bad proof is DPOP_INVALID (invalid_dpop_proof).
 */
async function proofKeyOf(req: IncomingMessage, config: Config, seen: DpopReplayCache): Promise<string | undefined> {
  const proof = req.headers['dpop'];
  if (proof === undefined) return undefined;
  if (typeof proof !== 'string' || proof.includes(',')) {
    throw new GatekitError('DPOP_INVALID', 'send exactly one DPoP proof');
  }
  const url = tokenEndpointUrl(config.daemon.token_listen);
  return (await verifyDpopProof(proof, { method: 'POST', url, replays: seen })).jkt;
}

async function exchange(
  state: State,
  proofs: DpopReplayCache,
  req: IncomingMessage,
  audit: (event: AuditEvent) => void,
): Promise<Record<string, unknown>> {
  if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/token')
    throw new GatekitError('BAD_REQUEST', 'POST /token only');
  const form = new URLSearchParams(await readBody(req, { limit: MAX_BODY, type: 'application/x-www-form-urlencoded' }));
  if (form.get('grant_type') !== GRANT_TYPE) throw new GatekitError('USAGE', `grant_type must be ${GRANT_TYPE}`);
  const resources = form.getAll('resource');
  if (resources.length !== 1) throw new GatekitError('NOT_FOUND', 'send exactly one resource (RFC 8707)');
  const server = [...state.config.servers.values()].find((s) => s.resource === resources[0]);
  if (!server) throw new GatekitError('NOT_FOUND', `no server has the resource "${resources[0]!.slice(0, 200)}"`);
  const subjectToken = form.get('subject_token');
  const type = form.get('subject_token_type');
  if (!subjectToken || !type)
    throw new GatekitError('BAD_REQUEST', 'subject_token and subject_token_type are required');

  let subject;
  let jkt: string | undefined;
  try {
    jkt = await proofKeyOf(req, state.config, proofs);
    subject = await state.subjects.verify(subjectToken, type);
  } catch (err) {
    audit(auditLine.authFailed(server.name, 'token-exchange', (err as Error).message));
    throw err;
  }
  const { identity, workload } = subject;
  let issued;
  try {
    issued = await issueAccessToken({
      config: state.config,
      key: () => state.key,
      server,
      identity,
      // RFC 9449 §5: a DPoP proof on the request binds the token to its key (instead of the certificate).
      jkt,
      certThumbprint: certThumbprintOf(req),
    });
  } catch (err) {
    if (isGatekitError(err, 'POLICY_DENIED'))
      audit(
        auditLine.denied(server.name, identity, {
          method: 'token-exchange',
          error: err.message,
          rule: err.rule,
          ...workloadOf(workload),
        }),
      );
    throw err;
  }
  const { token, claims } = issued;
  audit(auditLine.tokenExchange(server.name, { ...identity, jti: claims.jti }, workload));
  return {
    access_token: token,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: jkt ? 'DPoP' : 'Bearer',
    expires_in: claims.exp - claims.iat,
    scope: claims.scope,
  };
}

const workloadOf = (workload: unknown) => (workload ? { workload } : {});

/** RFC 8705 §3.1: the SHA-256 thumbprint of the client certificate presented over mutual TLS, if any. */
function certThumbprintOf(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  const raw = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().raw : undefined;
  return raw ? createHash('sha256').update(raw).digest('base64url') : undefined;
}

/** RFC 6749 §5.1: token responses carry `Cache-Control: no-store` (sendJson) and `Pragma: no-cache`. */
function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { ...headers, pragma: 'no-cache' });
}
