// The HTTP layer (docs/architecture.md): bind a listener, read a bounded body, answer JSON, read TLS files,
// and reach a listener of ours over its Unix socket or loopback mTLS. Imports nothing of ours but lib/config's
// types, lib/errors.ts and lib/files.ts.
export { bindListen, bindListener } from './listen.js';
export type { SocketAccess } from './listen.js';
export { readBody } from './body.js';
export type { BodyLimits } from './body.js';
export { sendJson } from './reply.js';
export type { TlsMaterial } from './tls.js';
export { readTlsFiles } from './tls.js';
export { requestText } from './client.js';
export type { TextRequest, TextResponse } from './client.js';
export { clientTarget, targetUrl } from './target.js';
export type { HttpTarget } from './target.js';
export { checkSocketOwner } from './socket-owner.js';
