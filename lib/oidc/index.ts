export { discoverIdp } from './client.js';
export type { OidcConfiguration } from './client.js';
export { deviceLogin } from './device.js';
export { pkceLogin } from './pkce.js';
export { refreshIdpSession, revokeIdpSession } from './refresh.js';
export type { IdpSession } from './identity.js';
export { browserOpener } from './browser.js';
export type { LoginIO, DevicePrompt } from './io.js';
