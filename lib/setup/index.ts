export { initialize, keyFiles } from './initialize.js';
export type { InitResult } from './initialize.js';
