import { GatekitError } from '../errors.js';
import { checkLoopbackListen } from './daemon.js';
import { checkRules } from './rules.js';
import type { Section } from './section.js';
import type { Grant, ServerConfig, ToolRules } from './types.js';

function checkTools(s: Section | undefined): ToolRules {
  if (!s) return { allow: ['*'], deny: [] };
  const rules = { allow: s.strings('allow', ['*']), deny: s.strings('deny') };
  s.done();
  return rules;
}

/** `[servers.NAME]`: one MCP server, its listener, who may use it and which tools. */
export function checkServer(name: string, s: Section, path: (p: string) => string, dir: string): ServerConfig {
  const command = s.strings('command');
  if (command.length === 0)
    s.fail('command', 'a non-empty array like ["npx", "-y", "@modelcontextprotocol/server-everything"]');
  const grants: Grant[] = s.tables('grant').map((g) => {
    const grant = { users: g.strings('users'), groups: g.strings('groups'), tools: checkTools(g.optTable('tools')) };
    if (grant.users.length === 0 && grant.groups.length === 0)
      g.fail('users', 'set (or "groups" set) so the grant names who it is for');
    g.done();
    return grant;
  });
  const env = s.stringMap('env');
  for (const key of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      s.fail('env', `a table of environment variables; "${key}" is not a valid name`);
  }
  const server: ServerConfig = {
    name,
    command,
    cwd: path(s.string('cwd', dir)),
    listen: checkLoopbackListen(s, 'listen', s.string('listen', `unix:run/${name}.sock`), path),
    resource: s.string('resource', `urn:gatekit:server:${name}`, isResourceUri, 'an absolute URI without a fragment'),
    allow_users: s.strings('allow_users'),
    allow_groups: s.strings('allow_groups'),
    tools: checkTools(s.optTable('tools')),
    grants,
    env,
    identity_meta: s.bool('identity_meta', false),
    audit_arguments: s.bool('audit_arguments', false),
    rules: checkRules(s),
    token_binding: s.oneOf('token_binding', ['any', 'dpop', 'mtls'] as const, 'any'),
    on_tool_change: s.oneOf('on_tool_change', ['hide', 'deny_server', 'audit'] as const, 'hide'),
  };
  if (server.token_binding === 'mtls' && server.listen.kind !== 'tcp') {
    s.fail('token_binding', '"any" or "dpop" for a Unix-socket listener ("mtls" needs a loopback TCP listen address)');
  }
  s.done();
  return server;
}

/** Two servers never share a listen address or a resource (port 0 aside: the OS picks). */
export function checkUnique(file: string, servers: Map<string, ServerConfig>): void {
  const seen = new Map<string, string>();
  for (const s of servers.values()) {
    for (const [what, key] of [
      ['listen', listenKey(s)],
      ['resource', s.resource],
    ] as const) {
      const other = seen.get(`${what} ${key}`);
      if (other && !(what === 'listen' && key.endsWith(':0'))) {
        throw new GatekitError(
          'CONFIG_INVALID',
          `${file}: "servers.${s.name}.${what}" is the same as "servers.${other}.${what}"`,
          { hint: `give each server its own ${what}` },
        );
      }
      seen.set(`${what} ${key}`, s.name);
    }
  }
}

function listenKey(s: ServerConfig): string {
  return s.listen.kind === 'unix' ? `unix:${s.listen.path}` : `${s.listen.host}:${s.listen.port}`;
}

function isResourceUri(v: string): boolean {
  try {
    return Boolean(new URL(v).protocol) && !v.includes('#');
  } catch {
    return false;
  }
}
