export { SessionStore } from './session-store.js';
export type { StoredSession, CachedToken, PendingDevice } from './session-store.js';
export { certificateBinding, certificateThumbprint } from './binding.js';
export { cachedToken } from './cached.js';
export { configRealPath } from './paths.js';
