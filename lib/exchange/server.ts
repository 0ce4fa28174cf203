// The daemon's side of daemon mode: the RFC 8693 token endpoint. Only lib/daemon imports it
// (checked by .dependency-cruiser.cjs); the CLI's side is lib/exchange/index.ts.
export { startTokenEndpoint } from './endpoint.js';
export type { TokenEndpoint } from './endpoint.js';
