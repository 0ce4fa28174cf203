export { startTokenAgent } from './server.js';
export type { TokenAgent } from './server.js';
export { agentToken } from './client.js';
export { AGENT_ENV } from './protocol.js';
export type { AgentTokenRequest, AgentError } from './protocol.js';
