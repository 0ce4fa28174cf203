// The daemon's side of daemon mode: the RFC 8693 token endpoint, loaded by lib/daemon/daemon.ts only in
// broker.mode = "daemon". The CLI's side, the exchange client, is lib/broker/exchange.ts.
export { startTokenEndpoint } from './endpoint.js';
export type { TokenEndpoint } from './endpoint.js';
