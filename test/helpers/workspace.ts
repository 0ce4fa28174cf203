import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    dir, config, home,
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
