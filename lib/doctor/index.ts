export { runDoctor } from './run.js';
export { renderResult } from './result.js';
export type { CheckResult } from './result.js';
