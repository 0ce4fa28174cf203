export { Bridge } from './connect.js';
export { messageEra, statelessHeaders } from './era.js';
export { sseEvents } from './sse.js';
export type { SseEvent } from './sse.js';
export { holdEventStream } from './stream.js';
