export { runDoctor } from './run.js';
export { renderResult } from './result.js';
