import { fileURLToPath } from 'node:url';

const ASKER = fileURLToPath(new URL('../../fixtures/servers/asker.js', import.meta.url));

/** The asker fixture (SDK v1, session era, asks its client things) for alice and bob. */
export const ASKER_CONFIG = `
[servers.asker]
command = ["${process.execPath}", "${ASKER}"]
allow_users = ["alice@example.com", "bob@example.com"]
tools = { allow = ["sample", "confirm", "roots", "interview", "change", "touch"] }
`;
