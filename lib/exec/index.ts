export { execWithAgent } from './run.js';
export type { ExecInput } from './run.js';
export { startTokenAgent } from './agent-server.js';
export type { TokenAgent } from './agent-server.js';
export { agentToken } from './agent-client.js';
export type { AgentTokenRequest, AgentError } from './agent-protocol.js';
