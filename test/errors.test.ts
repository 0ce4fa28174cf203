import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatekitError, oauthError, type ErrorCode } from '../lib/errors.js';
import { errorHttpStatus } from '../lib/mcp/index.js';

const error = (code: ErrorCode) => new GatekitError(code, `why ${code}`);

describe('one status table: HTTP status, challenge error, JSON-RPC code and OAuth error per error code', () => {
  it("the daemon door's codes carry the RFC 6750 / RFC 9449 error name that goes with their status", () => {
    const door: Array<[ErrorCode, number, string | undefined]> = [
      ['LOGIN_REQUIRED', 401, undefined],
      ['BAD_REQUEST', 400, 'invalid_request'],
      ['TOKEN_INVALID', 401, 'invalid_token'],
      ['TOKEN_EXPIRED', 401, 'invalid_token'],
      ['DPOP_INVALID', 401, 'invalid_dpop_proof'],
      ['POLICY_DENIED', 403, 'insufficient_scope'],
    ];
    for (const [code, status, challenge] of door) {
      assert.deepEqual([error(code).httpStatus, error(code).challengeError], [status, challenge], code);
    }
  });

  it("each daemon refusal has its own status and JSON-RPC code: -32603 for a 5xx, else -32600 or the table's", () => {
    const daemon: Array<[ErrorCode, number, number]> = [
      ['FORBIDDEN', 403, -32600],
      ['NOT_FOUND', 404, -32600],
      ['METHOD_NOT_ALLOWED', 405, -32600],
      ['NOT_ACCEPTABLE', 406, -32600],
      ['CONFLICT', 409, -32600],
      ['BODY_TOO_LARGE', 413, -32600],
      ['UNSUPPORTED_MEDIA_TYPE', 415, -32600],
      ['LIMIT_EXCEEDED', 429, -32600],
      ['PARSE_ERROR', 400, -32700],
      ['INVALID_PARAMS', 400, -32602],
      ['HEADER_MISMATCH', 400, -32020],
      ['UNSUPPORTED_VERSION', 400, -32022],
      ['UNAVAILABLE', 503, -32603],
      ['DAEMON_UNREACHABLE', 502, -32603],
      ['INTERNAL', 500, -32603],
    ];
    for (const [code, status, rpc] of daemon) {
      assert.deepEqual([error(code).httpStatus, error(code).rpcCode], [status, rpc], code);
    }
  });

  it("a daemon refusal with a JSON-RPC code the 2026-07-28 transport names has that code's status (lib/mcp's table)", () => {
    // INVALID_PARAMS is the envelope check's -32602: a 400 of its own (a method's -32602 is not, so the table has none).
    const named = ['BAD_REQUEST', 'PARSE_ERROR', 'HEADER_MISMATCH', 'UNSUPPORTED_VERSION', 'METHOD_NOT_FOUND'] as const;
    for (const code of named) assert.equal(error(code).httpStatus, errorHttpStatus(error(code).rpcCode), code);
    assert.deepEqual(
      [-32021, -32020, -32022, -32601, -32600, -32700, -32602, -32603, -32003, -32002].map((c) => errorHttpStatus(c)),
      [400, 400, 400, 404, 400, 400, 200, 200, 200, 200],
    );
    assert.deepEqual(
      [-32021, -32601, -32020].map((c) => errorHttpStatus(c, true)),
      [400, 200, 200],
      "a tool's own errors stay in a 200 answer, except -32021",
    );
    assert.equal(errorHttpStatus(undefined), 200);
  });

  it("the token endpoint's RFC 6749 / RFC 8693 errors come from the same table", () => {
    const endpoint: Array<[ErrorCode, string, number]> = [
      ['BAD_REQUEST', 'invalid_request', 400],
      ['USAGE', 'unsupported_grant_type', 400],
      ['TOKEN_INVALID', 'invalid_grant', 400],
      ['NOT_FOUND', 'invalid_target', 400],
      ['DPOP_INVALID', 'invalid_dpop_proof', 400],
      ['POLICY_DENIED', 'access_denied', 403],
      ['BODY_TOO_LARGE', 'invalid_request', 413],
      ['IDP_UNREACHABLE', 'temporarily_unavailable', 503],
    ];
    for (const [code, name, status] of endpoint) {
      assert.deepEqual(oauthError(error(code)), { status, body: { error: name, error_description: `why ${code}` } });
    }
  });

  it('a bug, or a code without an OAuth name, is server_error with no detail: its message never leaves', () => {
    const hostile = 'eyJhbGciOiJFZERTQSJ9.secret-token.sig';
    for (const err of [
      new Error(hostile),
      new GatekitError('INTERNAL', hostile),
      new GatekitError('KEY_INVALID', hostile),
    ]) {
      const answer = oauthError(err);
      assert.deepEqual(answer, { status: 500, body: { error: 'server_error', error_description: 'internal error' } });
    }
  });
});
