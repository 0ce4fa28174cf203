export { startDevIdp } from './start.js';
export type { DevIdp, DevIdpOptions } from './start.js';
export { approveDevice } from './driver.js';
export type { DeviceApproval } from './driver.js';
export { DEV_USERS, DEV_PASSWORD } from './users.js';
export type { DevUser } from './users.js';
