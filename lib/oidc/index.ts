export { oidcProvider } from './provider.js';
