export { discoverIdp, idpError, isNetworkError } from './client.js';
export type { OidcConfiguration } from './client.js';
export { deviceLogin, startDeviceLogin, finishDeviceLogin, devicePrompt } from './device.js';
export { pkceLogin } from './pkce.js';
export { refreshIdpSession, revokeIdpSession } from './refresh.js';
export { sessionFromTokens } from './identity.js';
export type { IdpSession } from './identity.js';
export { browserOpener } from './browser.js';
export type { LoginIO, DevicePrompt } from './io.js';
