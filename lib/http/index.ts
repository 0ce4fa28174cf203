// The HTTP layer (docs/architecture.md): bind a listener, read a bounded body, answer JSON, read TLS files,
// and reach a listener of ours over its Unix socket or loopback mTLS. Imports nothing of ours but lib/config's
// types, lib/errors.ts and lib/files.ts.
export { bindListen, bindListener } from './listen.js';
export { readBody } from './body.js';
export { sendJson } from './reply.js';
export { readTlsFiles } from './tls.js';
export { requestText } from './client.js';
export { clientTarget, targetUrl } from './target.js';
export { checkSocketOwner } from './socket-owner.js';
