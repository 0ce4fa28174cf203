export { brokerContext } from './context.js';
export type { AgentSource, BrokerContext } from './context.js';
export { login } from './login.js';
export { tokenFor, ensureLogin } from './token.js';
export { brokerStatus, checkLogin } from './status.js';
export { logout } from './logout.js';
export { isWorkload, workloadToken } from './workload.js';
export { connectBinding } from './binding.js';
export type { DpopBinding } from './binding.js';
