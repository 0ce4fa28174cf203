export { LoginStore } from './login-store.js';
export type { Login, CachedToken, PendingDevice } from './login-store.js';
export { certificateBinding, certificateThumbprint } from './binding.js';
export { cachedToken } from './cached.js';
export { configRealPath } from './paths.js';
