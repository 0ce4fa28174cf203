export { SessionStore } from './session-store.js';
export type { StoredSession, CachedToken, PendingDevice } from './session-store.js';
