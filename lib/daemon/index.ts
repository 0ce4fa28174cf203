export { startDaemon } from './daemon.js';
export type { Daemon, DaemonOptions } from './daemon.js';
export type { Admission, VerifiedRequest } from './verify-request.js';
export { stopBoundMs } from './process-group.js';
export { cgroupsUnavailable } from './cgroup.js';
export { checkDaemon } from './check.js';
export type { DaemonCheck } from './check.js';
export { probeServer } from './probe.js';
export type { ProbeResult } from './probe.js';
