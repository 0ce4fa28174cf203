import type { Argv } from 'yargs';
import { GatekitError } from '../../errors.js';
import type { CliIO } from '../io.js';
import { printJson } from '../io.js';
import type { Config } from '../../config/index.js';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

type VerifyArgs = CommonArgs & {
  files: string[];
  key?: string;
  anchor?: string;
  json: boolean;
  allowUnsealed: boolean;
};
type TailArgs = CommonArgs & {
  file?: string;
  follow: boolean;
  user?: string;
  server?: string;
  since?: string;
  json: boolean;
};

/**
 * The anchor to check the files against: --anchor (always applied), else the config's [daemon] audit_anchor when the
 * config is read anyway and the last file given is the log it anchors.
 */
async function verifyAnchor(args: VerifyArgs, config: Config | undefined, files: readonly string[]) {
  const { readAnchor } = await import('../../audit/index.js');
  if (args.anchor !== undefined) {
    const anchor = readAnchor(args.anchor);
    if (!anchor) throw new GatekitError('NOT_FOUND', `no audit anchor at ${args.anchor}`);
    return { file: args.anchor, anchor };
  }
  if (!config || config.daemon.audit_log === '-') return undefined;
  const anchor = readAnchor(config.daemon.audit_anchor);
  const { resolve } = await import('node:path');
  if (!anchor || resolve(anchor.log) !== resolve(files.at(-1) ?? '')) return undefined;
  return { file: config.daemon.audit_anchor, anchor };
}

/** The audit log's public key: from --key (a JWKS file) or the config's [daemon] audit_key. */
async function verifyKeys(args: VerifyArgs, config: Config | undefined) {
  if (args.key) {
    const { readFileSync } = await import('node:fs');
    let doc: { keys?: unknown };
    try {
      doc = JSON.parse(readFileSync(args.key, 'utf8'));
    } catch (cause) {
      throw new GatekitError('KEY_INVALID', `cannot read the key set ${args.key}`, {
        hint: 'pass the output of "gatekit keys jwks --audit"',
        cause,
      });
    }
    if (!Array.isArray(doc.keys)) throw new GatekitError('KEY_INVALID', `key set ${args.key} has no "keys" array`);
    return doc.keys as Array<Record<string, unknown>>;
  }
  const { loadAuditKey } = await import('../../audit/index.js');
  return [loadAuditKey(config!.daemon.audit_key).publicJwk];
}

function verify(y: Argv, io: CliIO, setExit: (code: number) => void): Argv {
  return y.command(
    'verify [files..]',
    "check the audit log's hash chain and signed checkpoints (rotated files oldest first)",
    (b: Argv) =>
      b
        .positional('files', {
          type: 'string',
          array: true,
          describe: 'audit files in order (default: [daemon] audit_log)',
        })
        .option('key', {
          type: 'string',
          describe: "a JWKS file with the audit public key (default: the config's [daemon] audit_key)",
        })
        .option('anchor', {
          type: 'string',
          describe: "the daemon's anchor file to check the last file against (default: [daemon] audit_anchor)",
        })
        .option('allow-unsealed', {
          type: 'boolean',
          default: false,
          describe: 'exit 0 even when lines after the last checkpoint are not sealed yet',
        })
        .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
        .example('gatekit audit verify audit.jsonl.1 audit.jsonl', 'a rotated file, then the current one'),
    handler(async (args: VerifyArgs) => {
      const needsConfig = !args.key || !args.files?.length;
      const config = needsConfig ? await loadConfigFor(args, io) : undefined;
      const keys = await verifyKeys(args, config);
      const files = args.files?.length ? args.files : [config!.daemon.audit_log];
      const anchor = await verifyAnchor(args, config, files);
      const { verifyAuditFiles } = await import('../../audit/index.js');
      const report = await verifyAuditFiles(files, keys, args.allowUnsealed, anchor);
      if (args.json) printJson(io, report);
      else {
        for (const p of report.problems) io.out(`${p.file}:${p.line}: ${p.kind}: ${p.message}\n`);
        io.out(
          `${report.ok ? 'verified' : 'NOT verified'}: ${report.lines} lines in ${report.files.length} file(s), ` +
            `${report.checkpoints} checkpoint(s), ${report.unsealed} unsealed\n`,
        );
      }
      if (!report.ok) setExit(1);
    }),
  );
}

function tail(y: Argv, io: CliIO): Argv {
  return y.command(
    'tail [file]',
    'show the audit log as a table (or JSON lines), optionally following it',
    (b: Argv) =>
      b
        .positional('file', { type: 'string', describe: 'default: [daemon] audit_log' })
        .option('follow', {
          alias: 'f',
          type: 'boolean',
          default: false,
          describe: 'keep printing new lines (follows rotation)',
        })
        .option('user', { type: 'string', describe: 'only this user' })
        .option('server', { type: 'string', describe: 'only this server' })
        .option('since', {
          type: 'string',
          describe: 'only lines from this long ago ("10m") or since an RFC 3339 time',
        })
        .option('json', { type: 'boolean', default: false, describe: 'pass the JSON lines through' }),
    handler(async (args: TailArgs) => {
      const file = args.file ?? (await loadConfigFor(args, io)).daemon.audit_log;
      if (file === '-')
        throw new GatekitError('USAGE', 'the audit log goes to the daemon\'s stdout ([daemon] audit_log = "-")', {
          hint: 'name a file',
        });
      const [{ tailAudit, parseSince }, { parseDuration }] = await Promise.all([
        import('../../audit/index.js'),
        import('../../config/index.js'),
      ]);
      const since = args.since === undefined ? undefined : parseSince(args.since, parseDuration);
      const color = Boolean(process.stdout.isTTY) && !io.env['NO_COLOR'];
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort).once('SIGTERM', abort);
      try {
        await tailAudit(
          file,
          {
            user: args.user,
            server: args.server,
            since,
            json: args.json,
            color,
            follow: args.follow,
            signal: stop.signal,
          },
          io.out,
        );
      } finally {
        process.off('SIGINT', abort).off('SIGTERM', abort);
      }
    }),
  );
}

export const auditCommand: Command = (cli, io, setExit) =>
  cli.command('audit <command>', 'verify and read the tamper-evident audit log', (y: Argv) =>
    tail(verify(y, io, setExit), io).demandCommand(1, 'name an audit command: verify or tail'),
  );
