import type { Argv } from 'yargs';
import { relative } from 'node:path';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

export const initCommand: Command = (cli, io) =>
  cli.command(
    'init',
    'create the signing key (0600), its public JWKS, and a local CA with daemon and client certificates',
    (y: Argv) =>
      y.option('force', { type: 'boolean', default: false, describe: 'replace existing keys and certificates' }),
    handler(async (args: CommonArgs & { force: boolean }) => {
      const config = await loadConfigFor(args, io);
      const { initialize } = await import('../../setup/index.js');
      const result = await initialize(config, { force: args.force });
      const rel = (p: string) => relative(process.cwd(), p) || p;
      for (const file of result.created) io.err(`created ${rel(file)}`);
      for (const file of result.kept) io.err(`kept    ${rel(file)} (exists; --force replaces it)`);
    }),
  );
