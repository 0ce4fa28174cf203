export { AuditLog } from './log.js';
export type { AuditEvent, AuditEventName } from './log.js';
