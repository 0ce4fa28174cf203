export { clientSnippet, connectLaunch, CLIENT_KINDS } from './snippet.js';
export type { ClientKind, Launch } from './snippet.js';
