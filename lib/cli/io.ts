/** The process edges a command talks to; tests and `gatekit exec` may supply their own. */
export interface CliIO {
  /** Machine output only: the token, --json. */
  readonly out: (text: string) => void;
  /** People: progress, prompts, device codes, warnings. */
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** A person is at a terminal (and this is not CI): a login may be started. */
  readonly isInteractive: boolean;
}

export function processIO(): CliIO {
  const env = process.env;
  return {
    out: (text) => {
      process.stdout.write(text);
    },
    err: (line) => {
      process.stderr.write(`${line}\n`);
    },
    env,
    isInteractive: !env['CI'] && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY),
  };
}

export function printJson(io: CliIO, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
