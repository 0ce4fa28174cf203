import { GatekitError } from '../errors.js';
import type { CliIO } from './io.js';

/** Renders an error once, at the process edge, and returns the exit code. */
export function renderError(io: CliIO, err: unknown, debug: boolean): number {
  if (err instanceof GatekitError) {
    io.err(`gatekit: ${err.message}`);
    if (err.hint) io.err(`hint: ${err.hint}`);
    if (debug) {
      io.err(`code: ${err.code}`);
      for (let cause = err.cause; cause; cause = (cause as Error).cause)
        io.err(`cause: ${(cause as Error).stack ?? String(cause)}`);
    }
    return err.exitCode;
  }
  io.err(`gatekit: unexpected error: ${(err as Error)?.message ?? String(err)}`);
  io.err(
    debug ? String((err as Error)?.stack) : 'hint: run again with --debug for details, and report it if it persists',
  );
  return 1;
}
