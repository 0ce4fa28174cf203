export { execWithAgent } from './run.js';
export type { ExecInput } from './run.js';
