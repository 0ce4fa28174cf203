/** One line of `gatekit doctor`: what was checked, whether it is fine, and how to fix it if not. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string | undefined;
  /** Fine to run with, but worth fixing (shown with "!"; does not fail the doctor). */
  readonly warning?: boolean | undefined;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
export const fail = (name: string, detail: string, fix?: string): CheckResult => ({ name, ok: false, detail, fix });

export const warn = (name: string, detail: string): CheckResult => ({ name, ok: true, detail, warning: true });

export function renderResult(r: CheckResult): string {
  return `${r.warning ? '!' : r.ok ? '✔' : '✘'} ${r.name.padEnd(18)} ${r.detail}${r.fix ? `\n  ${' '.repeat(19)}fix: ${r.fix}` : ''}`;
}
