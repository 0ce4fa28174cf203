export { startDev } from './quickstart.js';
export type { DevHandle } from './quickstart.js';
export { runDemo } from './demo.js';
export type { DemoIO } from './demo.js';
export { startDaemonProcess } from './daemon-process.js';
export type { DaemonProcess } from './daemon-process.js';
