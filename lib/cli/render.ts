import { GatekitError, type ErrorCode } from '../errors.js';
import type { CliIO } from './io.js';
import { gatekitCommand, personalHint } from './hints.js';

/** For an error thrown without a hint: what to do next, by what kind of failure it is. */
const FALLBACK_HINTS: Partial<Record<ErrorCode, string>> = {
  USAGE: 'run "gatekit --help" for the commands, or "gatekit COMMAND --help" for one',
  CONFIG_INVALID: 'fix the file and key named above ("gatekit doctor" checks the whole config)',
  KEY_INVALID: 'run "gatekit doctor"; "gatekit init --force" makes new keys and certificates',
  LOGIN_REQUIRED: 'run "gatekit broker login"',
  TOKEN_INVALID: 'get a fresh one with "gatekit broker token --resource NAME"',
  TOKEN_EXPIRED: 'get a fresh one with "gatekit broker token --resource NAME"',
  POLICY_DENIED: 'ask whoever runs gatekit.toml to admit you; "gatekit policy explain" shows why not',
  IDP_ERROR: 'run "gatekit doctor" to check the identity provider; --debug shows its answer',
  IDP_UNREACHABLE: 'check your network and [idp] issuer, then try again ("gatekit doctor" checks it)',
  DAEMON_UNREACHABLE: 'is "gatekit daemon" (or "gatekit dev") running for this config? "gatekit doctor" checks it',
  UNAVAILABLE: 'try again in a moment; "gatekit doctor" checks what is not running',
  INTERRUPTED: 'run the command again when you are ready',
};
const LAST_RESORT = 'run again with --debug for details, and report it if it persists';

/** Renders an error once, at the process edge, and returns the exit code. Every error ends with a hint. */
export function renderError(io: CliIO, err: unknown, debug: boolean, argv: readonly string[] = []): number {
  const personal = (hint: string) => personalHint(hint, argv, gatekitCommand(io.env));
  if (err instanceof GatekitError) {
    io.err(`gatekit: ${err.message}`);
    io.err(`hint: ${personal(err.hint ?? FALLBACK_HINTS[err.code] ?? LAST_RESORT)}`);
    if (debug) {
      io.err(`code: ${err.code}`);
      for (let cause = err.cause; cause; cause = (cause as Error).cause)
        io.err(`cause: ${(cause as Error).stack ?? String(cause)}`);
    }
    return err.exitCode;
  }
  io.err(`gatekit: unexpected error: ${(err as Error)?.message ?? String(err)}`);
  io.err(debug ? String((err as Error)?.stack) : `hint: ${LAST_RESORT}`);
  return 1;
}
