export { startDaemon } from './daemon.js';
export type { Daemon, DaemonOptions } from './daemon.js';
export type { Admission, VerifiedRequest } from './verify-request.js';
export { stopBoundMs } from './process-group.js';
