export { startDaemon } from './daemon.js';
export type { Daemon, DaemonOptions } from './daemon.js';
export type { Admission, VerifiedRequest } from './verify-request.js';
