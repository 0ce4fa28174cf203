export { browserOpener } from './browser.js';
export type { LoginIO, DevicePrompt } from './io.js';
export type { IdentityProvider, LoginFlow } from './provider.js';
export { deviceCodeExpired, pollDeviceCode } from './device-poll.js';
export type { DevicePollAnswer, PollClock } from './device-poll.js';
