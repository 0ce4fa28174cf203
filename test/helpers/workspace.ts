import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway directory with a gatekit.toml and a private GATEKIT_HOME, as a fresh user has. */
export interface Workspace {
  readonly dir: string;
  readonly config: string;
  readonly home: string;
  /** Environment for the CLI: this config and this state directory. */
  readonly env: NodeJS.ProcessEnv;
  write(toml: string): void;
  remove(): void;
}

export function workspace(toml: string): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-test-'));
  const config = join(dir, 'gatekit.toml');
  const home = join(dir, 'state');
  const write = (text: string) => writeFileSync(config, text);
  write(toml);
  return {
    dir,
    config,
    home,
    env: { GATEKIT_CONFIG: config, GATEKIT_HOME: home },
    write,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A minimal valid config around the given [idp] issuer and extra TOML. */
export function basicConfig(issuer: string, extra = ''): string {
  return `[idp]
issuer = "${issuer}"
client_id = "gatekit-cli"
scopes = ["openid", "email", "groups", "offline_access"]

[broker]
issuer = "urn:gatekit:broker:test"
token_ttl = "5m"

[daemon]
trusted_keys = "keys/broker.jwks"

[servers.notes]
command = ["node", "notes.js"]
allow_users = ["alice@example.com"]
allow_groups = ["ops"]
tools = { allow = ["read_*", "list_*"], deny = ["read_secret*"] }

[[servers.notes.grant]]
groups = ["ops"]
tools = { allow = ["write_*"] }

[servers.fs]
command = ["node", "fs.js"]
allow_groups = ["eng"]
${extra}`;
}

/** Ages every cached Gatekit token in the workspace's state past its expiry, as time passing would. */
export function expireCachedTokens(ws: Workspace): void {
  let files: string[];
  try {
    files = readdirSync(ws.home).filter((f) => /\.token\.[0-9a-f]+\.json$/.test(f));
  } catch {
    return;
  }
  for (const name of files) {
    const file = join(ws.home, name);
    const token = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...token, expires_at: Math.floor(Date.now() / 1000) - 1 }), { mode: 0o600 });
  }
}
