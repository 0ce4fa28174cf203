import type { Argv } from 'yargs';
import type { CliIO } from '../io.js';

/** Registers one top-level command; handlers `await import()` what they need. */
export type Command = (cli: Argv, io: CliIO, setExit: (code: number) => void) => Argv;

export interface CommonArgs {
  readonly config?: string | undefined;
  readonly debug?: boolean | undefined;
}

/** yargs cannot infer option types through our builders; handlers state theirs and we cast once, here. */
export function handler<T>(fn: (args: T) => Promise<void>): (args: unknown) => Promise<void> {
  return (args) => fn(args as T);
}
