import type { IncomingMessage, ServerResponse } from 'node:http';
import { auditLine } from '../../audit/index.js';
import type { ServerConfig } from '../../config/index.js';
import { GatekitError } from '../../errors.js';
import { sendJson } from '../../http/index.js';
import { DPOP_ALGORITHMS } from '../../token/index.js';
import { errorResponse } from '../jsonrpc.js';
import { metadataUrl } from '../origin.js';
import type { DaemonState, RequestContext } from '../state.js';

/**
 * The daemon's one error edge (docs/architecture.md, the request pipeline): a step's GatekitError becomes an
 * HTTP status and a JSON-RPC error body from the error table (lib/errors.ts), and exactly one audit line: `denied`
 * for a 403, else `request`. The door's refusals go to `refuseAtDoor`. Anything else is a bug: see `failInternally`.
 */
export function refuse(ctx: RequestContext, err: unknown): void {
  if (!(err instanceof GatekitError)) return failInternally(ctx, err);
  const { state, server, req, res } = ctx;
  const status = err.httpStatus;
  const method = req.method;
  // The rule that refused, by its config path: in the audit line and in the JSON-RPC error's data.
  const rule = err.rule === undefined ? {} : { rule: err.rule };
  const rpc = err.rpcCode;
  // Once the era is known (from the headers, then the body), the line names it and the JSON-RPC code.
  const fields = { method, error: err.message, ...rule, ...(ctx.era ? { era: ctx.era, rpc_code: rpc } : {}) };
  const line =
    status === 403
      ? auditLine.denied(server.name, ctx.caller, fields)
      : auditLine.request(server.name, ctx.caller, { ...fields, outcome: 'error' });
  // A request without a verified token is anyone's: its lines are tallied per listener, line and minute
  // (refusal-tally.ts). One with a verified token has a person, and every request of theirs has its own line.
  if (ctx.caller) state.audit(line);
  else state.refusals.write(JSON.stringify(line), line);
  const data = err.rule === undefined ? err.rpc?.data : { ...(err.rpc?.data as object | undefined), ...rule };
  if (res.headersSent) res.destroy();
  else sendJson(res, status, errorResponse(err.rpc?.id ?? null, rpc, err.message, data));
}

/**
 * A refusal by the door (door.ts), with an RFC 6750 / RFC 9449 challenge and one audit line: `denied` for a 403,
 * else `auth.failed`. A token whose signature checked out names its person, also when a later check or the policy
 * refused it; a refusal without one is tallied (refusal-tally.ts).
 */
export function refuseAtDoor(ctx: RequestContext, err: unknown): void {
  if (!(err instanceof GatekitError)) return failInternally(ctx, err);
  const { state, server, req, res } = ctx;
  const status = err.httpStatus;
  const method = req.method;
  const rule = err.rule === undefined ? {} : { rule: err.rule };
  // The era the headers told (steps/entry.ts), when they told one.
  const era = ctx.era ? { era: ctx.era } : {};
  const who = state.door.refusedPerson(err);
  const line =
    status === 403
      ? auditLine.denied(server.name, who, { method, error: err.message, ...rule, ...era })
      : {
          ...auditLine.authFailed(server.name, method, err.challengeError ? err.message : 'no token', who),
          ...rule,
          ...era,
        };
  if (who) state.audit(line);
  else state.refusals.write(JSON.stringify(line), line);
  const www = challenge(err, isDpopChallenge(req, server), metadataUrl(server));
  const data = err.rule === undefined ? undefined : rule;
  sendJson(res, status, errorResponse(null, err.rpcCode, err.message, data), { 'www-authenticate': www });
}

/** Whether a refusal's challenge uses the DPoP scheme: a DPoP request, or a server that accepts nothing else. */
function isDpopChallenge(req: IncomingMessage, server: ServerConfig): boolean {
  return server.token_binding === 'dpop' || /^dpop(?:\s|$)/i.test(req.headers.authorization ?? '');
}

/**
 * RFC 6750 §3 challenge, or RFC 9449 §7.1's DPoP challenge (with `algs`); the error name comes from the error
 * table (lib/errors.ts), none when no token was sent at all.
 */
function challenge(err: GatekitError, isDpop: boolean, metadataUrl: string): string {
  // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E: no double quote or backslash, not even as an RFC 7230
  // quoted-pair. A double quote becomes an apostrophe, so `token issuer "x"` stays readable as `token issuer 'x'`.
  const quote = (s: string) =>
    s
      .replace(/"/g, "'")
      .replace(/\\/g, '/')
      .replace(/[^\x20-\x7e]/g, ' ');
  const parts = [`resource_metadata="${metadataUrl}"`];
  const error = err.challengeError;
  if (error) parts.unshift(`error="${error}"`, `error_description="${quote(err.message)}"`);
  if (isDpop || error === 'invalid_dpop_proof') {
    return `DPoP ${[...parts, `algs="${DPOP_ALGORITHMS.join(' ')}"`].join(', ')}`;
  }
  return `Bearer ${parts.join(', ')}`;
}

/**
 * A bug, not a refusal: a bare 500 with a JSON-RPC error that says nothing more, one audit line, and the stack on
 * the daemon's stderr without the error's message (it might quote a token or a tool's arguments).
 */
export function failInternally(ctx: RequestContext, err: unknown): void {
  const { server, req, res } = ctx;
  const kind = err instanceof Error ? err.name : typeof err;
  // The stack without its head, which is "name: message" (V8); a message may span lines. No frames if it is not.
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  const head = err instanceof Error ? `${err.name}: ${err.message}` : '';
  const frames = head && stack.startsWith(head) ? stack.slice(head.length) : '';
  process.stderr.write(`gatekit daemon: internal error (${kind}) on ${server.name} ${req.method ?? ''}${frames}\n`);
  ctx.state.audit(
    auditLine.request(server.name, ctx.caller, { method: req.method, outcome: 'error', error: 'internal error' }),
  );
  const internal = new GatekitError('INTERNAL', 'internal error');
  if (res.headersSent) res.destroy();
  else sendJson(res, internal.httpStatus, errorResponse(null, internal.rpcCode, internal.message));
}

/**
 * Before any step, and without an audit line: a server gone from the config (SIGHUP), or an audit log that cannot
 * be written (fail closed: nothing is served that cannot be audited; the cause is on the daemon's stderr).
 */
export function refuseUnavailable(state: DaemonState, name: string, res: ServerResponse): boolean {
  const gone = !state.config.servers.has(name);
  if (!gone && state.auditFailure() === undefined) return false;
  const why = gone
    ? `server "${name}" is no longer configured`
    : 'the audit log cannot be written: refusing requests rather than serving them unaudited';
  const err = new GatekitError('UNAVAILABLE', why);
  sendJson(res, err.httpStatus, errorResponse(null, err.rpcCode, why), gone ? undefined : { 'retry-after': '1' });
  return true;
}
