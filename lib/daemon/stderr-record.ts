/** What an explanation may hold of a server's stderr, in characters. */
const EXPLANATION_MAX = 2048;
/** How many of stderr's last lines an explanation quotes after its error line. */
const TAIL_LINES = 4;
/** How much of stderr's end is kept to quote from. */
const TAIL_KEPT = 4096;
/** A line that says what went wrong, in the words of the usual runtimes and shells. */
const ERROR_LINE =
  /(^|[^\w])(\w*Error:|error:|error\[|Traceback|\w*Exception\b|ModuleNotFoundError|ENOENT|EACCES|EADDRINUSE|command not found|: not found$|No such file|Permission denied|panic:|fatal:|FATAL)/;

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/** One line as it may go into an error, a log or an audit line: no escape sequences or control characters. */
function cleanLine(line: string): string {
  return line.replace(ANSI, '').replace(CONTROL, ' ').trim();
}

/**
 * A child's stderr as far as its exit needs explaining: the first line that looks like an error and the last
 * TAIL_KEPT characters. A Node crash ends in `Node.js v20…` and a stack; the `Error: …` line says why.
 */
export class StderrRecord {
  #firstError: string | undefined;
  #partial = '';
  #tail = '';

  add(chunk: string): void {
    this.#tail = (this.#tail + chunk).slice(-TAIL_KEPT);
    if (this.#firstError !== undefined) return;
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop()!.slice(-TAIL_KEPT);
    this.#firstError = lines.map(cleanLine).find((line) => ERROR_LINE.test(line));
  }

  /** The error line (or, without one, the last line) and the last lines of stderr, at most EXPLANATION_MAX. */
  explain(): string {
    const first = this.#firstError ?? [cleanLine(this.#partial)].find((line) => ERROR_LINE.test(line));
    const last = this.#tail
      .split('\n')
      .map(cleanLine)
      .filter(Boolean)
      .slice(-TAIL_LINES)
      .filter((line) => line !== first);
    if (first === undefined && last.length === 0) return '';
    const head = first ?? last.pop()!;
    const text = last.length ? `${head} (stderr ends: ${last.join(' | ')})` : head;
    return text.length > EXPLANATION_MAX ? `${text.slice(0, EXPLANATION_MAX - 1)}…` : text;
  }
}

/** "exited with code 1" / "exited on SIGKILL" / "could not be started". */
export function exitWords(code: number | null, signal: NodeJS.Signals | null): string {
  if (code !== null) return `exited with code ${code}`;
  if (signal) return `exited on ${signal}`;
  return 'could not be started';
}
