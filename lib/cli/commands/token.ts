import type { Argv } from 'yargs';
import { GatekitError } from '../../errors.js';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';
import { printJson } from '../io.js';

export const tokenCommand: Command = (cli, io) =>
  cli.command('token <command>', 'inspect Gatekit access tokens', (y: Argv) =>
    y
      .command(
        'verify <token>',
        'check a token exactly as the daemon would (signature, claims, current policy) and print its claims',
        (v: Argv) =>
          v
            .positional('token', { describe: 'the access token ("-" reads it from stdin)' })
            .option('resource', {
              type: 'string',
              describe: 'the server it must be for (default: the one its aud names)',
            })
            .option('cert', {
              type: 'string',
              describe: 'the client certificate (PEM) it is used with: checks RFC 8705 cnf',
            }),
        handler(async (args: CommonArgs & { token: string | boolean; resource?: string; cert?: string }) => {
          const config = await loadConfigFor(args, io);
          const { DoorMemory, passToken } = await import('../../daemon/door.js');
          const { certificateThumbprint } = await import('../../broker/binding.js');
          const { loadTrustedKeys, VerifiedTokenCache } = await import('../../token/index.js');
          const { serverByName } = await import('../../config/index.js');
          const certThumbprint = args.cert === undefined ? undefined : certificateThumbprint(args.cert);
          // yargs reads a lone "-" as a boolean flag (true) when the positional has no type; "" stays ""
          const fromStdin = args.token === true || args.token === '-';
          const token = fromStdin ? (await readStdin()).trim() : String(args.token ?? '');
          if (!token) throw emptyToken(fromStdin);
          const keys = await loadTrustedKeys(config.daemon.trusted_keys);
          const state = { config, keys, cache: new VerifiedTokenCache(1), door: new DoorMemory() };
          const { claims, server, tools } = await passToken(token, state, {
            server: args.resource === undefined ? undefined : serverByName(config, args.resource),
            certThumbprint,
          });
          const left = Math.round(claims.exp - Date.now() / 1000);
          io.err(
            `valid: ${String(claims[config.idp?.user_claim ?? 'sub'] ?? claims.sub)} may use server "${server.name}" (tools: ${tools.join(' ') || 'none'}); expires in ${left}s`,
          );
          printJson(io, claims);
        }),
      )
      .demandCommand(1, 'name a token command: verify'),
  );

function emptyToken(fromStdin: boolean): GatekitError {
  return new GatekitError('USAGE', fromStdin ? 'no token on stdin' : 'no token: the argument is empty', {
    hint: 'pass one, e.g. gatekit token verify "$(gatekit broker token --resource NAME)"; an empty one means the command inside $(…) printed nothing: run it alone to see why',
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
