/** MCP 2026-07-28 stateless requests beside session-era clients, on the same listener. */
export { claimsStatelessVersion, classifyEra, toChildRequest } from './wire.js';
export type { Era, EraVerdict } from './wire.js';
export { discover, poolFor } from './pool.js';
export type { PooledChild } from './pool.js';
export { statelessAnswer, statelessStatus } from './answer.js';
