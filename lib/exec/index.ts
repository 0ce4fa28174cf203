export { execWithAgent } from './run.js';
export { startTokenAgent } from './agent-server.js';
export { agentToken } from './agent-client.js';
