/** One line of `gatekit doctor`: what was checked, whether it is fine, and how to fix it if not. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string | undefined;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
export const fail = (name: string, detail: string, fix?: string): CheckResult => ({ name, ok: false, detail, fix });

export function renderResult(r: CheckResult): string {
  return `${r.ok ? '✔' : '✘'} ${r.name.padEnd(18)} ${r.detail}${r.fix ? `\n  ${' '.repeat(19)}fix: ${r.fix}` : ''}`;
}
