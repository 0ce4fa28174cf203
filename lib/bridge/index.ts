export { Bridge } from './connect.js';
export type { ConnectIO } from './connect.js';
export { sseData } from './sse.js';
