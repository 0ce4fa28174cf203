export { clientSnippet, connectLaunch } from './snippet.js';
