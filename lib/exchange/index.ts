// The CLI's side of daemon mode (broker.mode = "daemon"): light, so a minting CLI loads no server code.
// The daemon's side, the token endpoint, has its own door: lib/exchange/server.ts (docs/architecture.md).
export { exchangeToken } from './client.js';
export type { ExchangedToken } from './client.js';
export { TOKEN_TYPES } from './token-types.js';
