import { GatekitError } from '../errors.js';
import { resourceGlobs } from './resource-globs.js';
import { checkLoopbackListen } from './daemon.js';
import { checkRules } from './rules.js';
import type { Section } from './section.js';
import type { Grant, ServerConfig, ToolRules } from './types.js';

function checkTools(s: Section | undefined, fallback: readonly string[] = ['*']): ToolRules {
  if (!s) return { allow: [...fallback], deny: [] };
  const rules = { allow: s.strings('allow', ['*']), deny: s.strings('deny') };
  s.done();
  return rules;
}

/** `resources = { allow, deny }`: URI globs, each in the normal form URIs are judged in (lib/mcp/resource-uri.ts). */
function checkResources(s: Section | undefined): ToolRules | undefined {
  if (!s) return undefined;
  const lists = { allow: resourceGlobs(s, 'allow', ['**']), deny: resourceGlobs(s, 'deny') };
  s.done();
  return lists;
}

const NONE: ToolRules = { allow: [], deny: [] };

/** `[servers.NAME]`: one MCP server, its listener, who may use it and which tools. */
export function checkServer(name: string, s: Section, path: (p: string) => string, dir: string): ServerConfig {
  const command = s.strings('command');
  if (command.length === 0)
    s.fail('command', 'a non-empty array like ["npx", "-y", "@modelcontextprotocol/server-everything"]');
  const grants: Grant[] = s.tables('grant').map((g) => {
    const resources = checkResources(g.optTable('resources'));
    const prompts = g.optTable('prompts');
    // A grant adds only the lists it names; one that names none adds every tool, as before resources and prompts.
    const tools = checkTools(g.optTable('tools'), resources || prompts ? [] : ['*']);
    const grant = {
      users: g.strings('users'),
      groups: g.strings('groups'),
      tools,
      resources: resources ?? NONE,
      prompts: prompts ? checkTools(prompts) : NONE,
    };
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
  const rules = checkRules(s);
  // Resources (prompts) are governed once anything names them: a grant or a rule alone narrows an allow-all list.
  const governed = (key: 'resources' | 'prompts', own: ToolRules | undefined): ToolRules | undefined =>
    own ??
    (grants.some((g) => g[key].allow.length + g[key].deny.length > 0) || rules.some((r) => r[key].length > 0)
      ? { allow: [key === 'resources' ? '**' : '*'], deny: [] }
      : undefined);
  const server: ServerConfig = {
    name,
    command,
    cwd: path(s.string('cwd', dir)),
    listen: checkLoopbackListen(s, 'listen', s.string('listen', `unix:run/${name}.sock`), path),
    resource: s.string('resource', `urn:gatekit:server:${name}`, isResourceUri, 'an absolute URI without a fragment'),
    allow_users: s.strings('allow_users'),
    allow_groups: s.strings('allow_groups'),
    tools: checkTools(s.optTable('tools')),
    resources: governed('resources', checkResources(s.optTable('resources'))),
    prompts: governed('prompts', s.has('prompts') ? checkTools(s.optTable('prompts')) : undefined),
    grants,
    env,
    identity_meta: s.bool('identity_meta', false),
    audit_arguments: s.bool('audit_arguments', false),
    rules,
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
