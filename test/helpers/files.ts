import { fileURLToPath } from 'node:url';

/** The pretend file server (fixtures/servers/files.ts): tools take a `path`; `received` counts what arrived. */
export const FILES_SERVER = fileURLToPath(new URL('../../fixtures/servers/files.js', import.meta.url));
