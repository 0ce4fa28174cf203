export { toolFingerprint } from './fingerprint.js';
export type { ToolDefinition } from './fingerprint.js';
export { lockPath, readLock, writeLock, pinsOf } from './lock.js';
export type { Lock, ServerPins } from './lock.js';
export { diffTools, hasChanges, renderDiff } from './diff.js';
export { commandWarnings, npxPackageOf } from './fetching.js';
export { resolveNpxPackage, packageMismatch, packageRefusal } from './npm-package.js';
