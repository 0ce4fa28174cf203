import type { Argv } from 'yargs';
import { GatekitError } from '../../errors.js';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

export const keysCommand: Command = (cli, io) =>
  cli.command(
    'keys <action>',
    'manage the broker signing keys',
    (y: Argv) =>
      y
        .positional('action', {
          choices: ['rotate', 'jwks'] as const,
          describe:
            'rotate: new signing key, old one stays trusted until its tokens expire; jwks: print the public key set',
        })
        .option('audit', {
          type: 'boolean',
          default: false,
          describe: 'jwks: print the audit key\'s public key instead (for "gatekit audit verify --key")',
        })
        .example('gatekit keys jwks --audit > audit.jwks', 'the key that verifies audit checkpoints')
        .example('gatekit keys rotate', 'then send the daemon SIGHUP (or let it pick up the new kid on first sight)'),
    handler(async (args: CommonArgs & { action: 'rotate' | 'jwks'; audit: boolean }) => {
      const config = await loadConfigFor(args, io);
      if (args.audit) {
        if (args.action !== 'jwks')
          throw new GatekitError('USAGE', '--audit goes with "keys jwks"', { hint: 'run "gatekit keys jwks --audit"' });
        const { loadAuditKey } = await import('../../audit/index.js');
        io.out(`${JSON.stringify({ keys: [loadAuditKey(config.daemon.audit_key).publicJwk] }, null, 2)}\n`);
        return;
      }
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
