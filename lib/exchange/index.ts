export { startTokenEndpoint } from './endpoint.js';
export type { TokenEndpoint } from './endpoint.js';
export { exchangeToken } from './client.js';
export type { ExchangedToken } from './client.js';
export { SubjectVerifier, TOKEN_TYPES } from './subject.js';
export type { Subject } from './subject.js';
