import type { Argv } from 'yargs';
import { GatekitError } from '../../errors.js';
import type { CliIO } from '../io.js';
import { printJson } from '../io.js';
import { durationOption, TOKEN_FORMATS, type TokenFormat } from '../options.js';
import { DEFAULT_MIN_TTL } from '../token-args.js';
import { handler, type Command, type CommonArgs } from './types.js';
import { brokerFor, loadConfigFor } from './load.js';
import { heldInvocation } from '../invocation.js';
import { serverByName } from '../../config/index.js';

async function loginIO(io: CliIO, noBrowser: boolean) {
  const { browserOpener } = await import('../../provider/index.js');
  return { say: io.err, openBrowser: noBrowser ? undefined : browserOpener(io.env) };
}

type LoginArgs = CommonArgs & { resource: string[]; flow?: 'device' | 'pkce'; browser: boolean; json: boolean };

function login(y: Argv, io: CliIO, setExit: (code: number) => void): Argv {
  return y.command(
    'login',
    'log in at the identity provider (device code or browser + PKCE)',
    (b: Argv) =>
      b
        .option('resource', {
          type: 'string',
          array: true,
          default: [],
          describe: 'also mint a token for this server (repeatable)',
        })
        .option('flow', {
          choices: ['device', 'pkce'] as const,
          describe: 'default: pkce when a browser can be opened, else device',
        })
        // yargs reads --no-X as "X = false" (boolean negation), so the documented --no-browser is --browser's negation.
        .option('browser', {
          type: 'boolean',
          default: true,
          describe: 'open a browser to log in; --no-browser never does (prints the URL and code)',
        })
        .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
    handler(async (args: LoginArgs) => {
      const { broker, ctx } = await brokerFor(args, io);
      const input = { flow: args.flow, resources: args.resource };
      const result = await broker.login(ctx, input, await loginIO(io, !args.browser));
      for (const t of result.tokens)
        io.err(`token for ${t.server} (${t.scope}) valid until ${new Date(t.expires_at * 1000).toISOString()}`);
      for (const d of result.denied) {
        io.err(`gatekit: ${d.reason}`);
        io.err(`hint: ${d.hint ?? 'ask an administrator to admit you to that server'}`);
      }
      if (args.json) {
        printJson(io, {
          user: result.login.provider.identity.user,
          sub: result.login.provider.identity.sub,
          groups: result.login.provider.identity.groups,
          tokens: result.tokens.map((t) => ({ server: t.server, expires_at: t.expires_at, scope: t.scope })),
          denied: result.denied,
        });
      }
      if (result.denied.length) setExit(new GatekitError('POLICY_DENIED', '').exitCode);
    }),
  );
}

function token(y: Argv, io: CliIO): Argv {
  return y.command(
    'token',
    'print a token for one server (cached, else renewed; exit 3 if a login is needed)',
    (b: Argv) =>
      b
        .option('resource', { type: 'string', demandOption: true, describe: 'the server name from gatekit.toml' })
        .option('format', {
          choices: TOKEN_FORMATS,
          default: 'raw' as TokenFormat,
          describe: 'raw token, JSON, env lines, or {"Authorization": …}',
        })
        .option('min-ttl', {
          type: 'string',
          describe: `use a cached token only with this much time left (default ${DEFAULT_MIN_TTL}s)`,
        })
        .option('subject-token-file', {
          type: 'string',
          describe: 'CI: exchange this workload OIDC token (a file) at the daemon instead of a login',
        }),
    handler(
      async (
        args: CommonArgs & { resource: string; format: TokenFormat; minTtl?: string; subjectTokenFile?: string },
      ) => {
        const minTtl = durationOption('min-ttl', args.minTtl, DEFAULT_MIN_TTL);
        const { formatToken } = await import('../token-output.js');
        const invocation = heldInvocation(io.env);
        if (!invocation.agent) {
          // CI: a workload token instead of a person's login (no [idp] needed).
          const [config, workload] = await Promise.all([loadConfigFor(args, io), import('../../broker/index.js')]);
          if (workload.isWorkload(config, io.env, args.subjectTokenFile)) {
            const token = await workload.workloadToken(config, args.resource, io.env, args.subjectTokenFile);
            return io.out(formatToken(token, args.format));
          }
        }
        const { broker, ctx } = await brokerFor(args, io, { agent: true });
        // The one look in the cache (the fast path's, when it made one); under gatekit exec the agent's.
        const look = ctx.agent
          ? { server: serverByName(ctx.config, args.resource), token: undefined }
          : invocation.tokenLook(args.config, args.resource, minTtl);
        if (look.token) return io.out(formatToken(look.token, args.format));
        const input = { server: look.server, minTtl, interactive: io.isInteractive, cacheMissed: !ctx.agent };
        const token = await broker.tokenFor(ctx, input, await loginIO(io, false));
        io.out(formatToken(token, args.format));
      },
    ),
  );
}

function status(y: Argv, io: CliIO): Argv {
  return y.command(
    'status',
    'who is logged in, when the identity provider last confirmed it, which tokens exist and when they expire',
    (b: Argv) =>
      b.option('json', { type: 'boolean', default: false }).option('check', {
        type: 'boolean',
        default: false,
        describe:
          'ask the identity provider whether the login still holds (renews it); else only the local cache is read',
      }),
    handler(async (args: CommonArgs & { json: boolean; check: boolean }) => {
      const { broker, ctx } = await brokerFor(args, io);
      const { checkLogin } = await import('../../broker/index.js');
      const check = args.check ? await checkLogin(ctx) : undefined;
      const s = broker.brokerStatus(ctx);
      if (args.json) return printJson(io, check ? { ...s, check } : s);
      if (!s.logged_in) io.out(`not logged in at ${s.idp}\n`);
      else {
        io.out(`logged in as ${s.user}${s.groups?.length ? ` (groups: ${s.groups.join(', ')})` : ''} at ${s.idp}\n`);
        io.out(
          `  sub ${s.sub}; logged in ${s.logged_in_at}; last confirmed by the identity provider ${s.refreshed_at}${s.renewable ? '' : `; ends ${s.session_expires_at ?? 'soon'}`}\n`,
        );
        if (!check) io.out('  (the identity provider was not asked now; --check asks it)\n');
        else if (check.asked) io.out(`  the identity provider confirmed the login just now (${check.confirmed_at})\n`);
        else io.out(`  not checked: ${check.reason}\n`);
      }
      for (const t of s.tokens)
        io.out(`  ${t.server.padEnd(12)} ${t.expired ? 'expired' : 'valid until'} ${t.expires_at}  ${t.scope}\n`);
    }),
  );
}

function logout(y: Argv, io: CliIO): Argv {
  return y.command(
    'logout',
    'forget the login and its tokens (revoking the refresh token at the IdP where it can)',
    (b: Argv) => b,
    handler(async (args: CommonArgs) => {
      const [{ ctx }, { logout }] = await Promise.all([brokerFor(args, io), import('../../broker/index.js')]);
      const r = await logout(ctx);
      if (!r.wasLoggedIn) io.err('not logged in');
      else io.err(r.revoked ? 'logged out; the identity provider revoked the login' : 'logged out');
      if (r.warning) io.err(`warning: ${r.warning}`);
    }),
  );
}

export const brokerCommand: Command = (cli, io, setExit) =>
  cli.command('broker <command>', 'log in at your identity provider and get tokens for servers', (y) =>
    status(logout(token(login(y, io, setExit), io), io), io).demandCommand(1, 'name a broker command'),
  );
