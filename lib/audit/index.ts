export { AuditLog, MAX_FIELD_LENGTH } from './log.js';
export type { AuditEvent, AuditEventName, AuditLogOptions } from './log.js';
