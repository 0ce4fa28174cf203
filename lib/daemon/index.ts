export { startDaemon } from './daemon.js';
export type { Daemon, DaemonOptions } from './daemon.js';
export { verifyForServer, admit } from './verify-request.js';
export type { Admission, VerifiedRequest } from './verify-request.js';
export { PROTOCOL_VERSIONS } from './handler.js';
