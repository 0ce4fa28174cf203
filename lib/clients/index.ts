export { clientSnippet, connectLaunch } from './snippet.js';
export type { ClientKind, Launch } from './snippet.js';
