export { SessionStore } from './session-store.js';
export type { StoredSession, CachedToken, PendingDevice } from './session-store.js';
export { acquireLock } from './lock.js';
export type { LockOptions } from './lock.js';
export { stateDir, shortHash, configRealPath } from './paths.js';
