import { existsSync, mkdtempSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GATED_SERVER = fileURLToPath(new URL('../../fixtures/servers/gated.js', import.meta.url));

/** The directory of files through which a test opens the gated fixture's gates. */
export interface Gates {
  readonly dir: string;
  /** A `[servers.NAME]` entry for the gated fixture (alice and the ops group may use it). */
  toml(name: string, options?: { holdStart?: boolean }): string;
  open(name: string): void;
  /** Resolves once a file whose name passes `match` exists: an event, not a poll. */
  seen(match: (file: string) => boolean): Promise<string>;
  remove(): void;
}

export function gates(): Gates {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-gates-'));
  return {
    dir,
    toml: (name, o = {}) => `
[servers.${name}]
command = ["${process.execPath}", "${GATED_SERVER}"]
allow_users = ["alice@example.com"]
allow_groups = ["ops"]
env = { GATED_DIR = "${dir}"${o.holdStart ? ', GATED_HOLD_START = "1"' : ''} }
`,
    open: (name) => writeFileSync(join(dir, name), ''),
    seen: (match) =>
      new Promise((resolve) => {
        const watcher = watch(dir, () => check());
        const check = () => {
          const found = readdirSync(dir).find(match);
          if (found !== undefined) {
            watcher.close();
            resolve(found);
          }
        };
        check();
      }),
    remove: () => {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
