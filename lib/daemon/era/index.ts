/** MCP 2026-07-28 stateless requests beside session-era clients, on the same listener. */
export { classifyEra } from './wire.js';
export type { Era } from './wire.js';
export { discover, learnToolList, StatelessPool } from './pool.js';
export type { PooledChild } from './pool.js';
export { childCapabilities, WaitingCalls } from './mrtr.js';
export { statelessRound } from './mrtr-round.js';
export { statelessAnswer, statelessStatus } from './answer.js';
export { attachListeners, openListen } from './listen.js';
