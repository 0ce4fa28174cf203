import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

export const keysCommand: Command = (cli, io) => cli.command(
  'keys <action>',
  'manage the broker signing keys',
  (y: Argv) => y
    .positional('action', { choices: ['rotate', 'jwks'] as const, describe: 'rotate: new signing key, old one stays trusted until its tokens expire; jwks: print the public key set' })
    .example('gatekit keys rotate', 'then send the daemon SIGHUP (or let it pick up the new kid on first sight)'),
  handler(async (args: CommonArgs & { action: 'rotate' | 'jwks' }) => {
    const config = await loadConfigFor(args, io);
    const { keyFiles } = await import('../../setup/index.js');
    const { readJwksFile, rotateKeys } = await import('../../token/index.js');
    const files = keyFiles(config);
    if (args.action === 'rotate') {
      const { kid, retired } = await rotateKeys(files);
      io.err(`new signing key ${kid}; still trusted: ${retired.length ? retired.join(', ') : 'none'}`);
      io.out(`${kid}\n`);
      return;
    }
    const jwks = readJwksFile(files.jwks);
    io.out(`${JSON.stringify({ keys: jwks.keys.map(({ retired_at: _r, ...k }) => k) }, null, 2)}\n`);
  }),
);
