export { startDev } from './quickstart.js';
export { runDemo } from './demo.js';
export { startDaemonProcess } from './daemon-process.js';
export { startDevIdp } from './idp-start.js';
export type { DevIdp } from './idp-start.js';
export { approveDevice, authorizeOverHttp } from './idp-driver.js';
