import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { loadConfigFor } from './load.js';

interface ExplainArgs extends CommonArgs {
  readonly user: string;
  readonly groups?: string[];
  readonly server: string;
  readonly tool?: string;
  readonly uri?: string;
  readonly prompt?: string;
  readonly args?: string;
  readonly loginAge?: number;
  readonly json?: boolean;
}
interface TestArgs extends CommonArgs {
  readonly file: string;
  readonly json?: boolean;
}

export const policyCommand: Command = (cli, io, setExit) =>
  cli.command(
    'policy <action>',
    'explain or test the access policy of the config',
    (y: Argv) =>
      y
        .command(
          'explain',
          'print the decision for a person, server and tool call, resource or prompt, and the rule that made it',
          (e: Argv) =>
            e
              .option('user', { type: 'string', demandOption: true, describe: 'the person (as the IdP names them)' })
              .option('groups', { type: 'string', array: true, describe: 'their groups' })
              .option('server', { type: 'string', demandOption: true, describe: 'a [servers.NAME]' })
              .option('tool', { type: 'string', describe: 'a tool to call' })
              .option('uri', { type: 'string', describe: 'a resource URI to read' })
              .option('prompt', { type: 'string', describe: 'a prompt to get' })
              .option('args', { type: 'string', describe: "the call's (or prompt's) arguments as a JSON object" })
              .option('login-age', {
                type: 'number',
                describe: 'seconds since their login (for fresh_login); default 0',
              })
              .option('json', { type: 'boolean', describe: 'print the answer as JSON' })
              .example(
                'gatekit policy explain --user erin@example.com --groups eng --server fs --tool read_file ' +
                  '--args \'{"path":"/srv/shared/a"}\'',
                'why would this call be allowed or denied?',
              )
              .example(
                'gatekit policy explain --user erin@example.com --groups eng --server fs --uri file:///srv/shared/a',
                'may erin read this resource?',
              ),
          handler(async (args: ExplainArgs) => {
            const config = await loadConfigFor(args, io);
            const { explain } = await import('../../policy/index.js');
            const answer = explain(config, {
              user: args.user,
              groups: args.groups ?? [],
              server: args.server,
              tool: args.tool,
              uri: args.uri,
              prompt: args.prompt,
              args: args.args === undefined ? undefined : await parseArgs(args.args),
              login_age: args.loginAge,
            });
            if (args.json) io.out(`${JSON.stringify(answer)}\n`);
            else io.out(`${answer.decision} by ${answer.rule}: ${answer.reason}\n`);
            if (answer.decision === 'deny') setExit(1);
          }),
        )
        .command(
          'test <file>',
          'run a table of policy cases against the config; exit 1 on any mismatch (for CI)',
          (t: Argv) =>
            t
              .positional('file', { type: 'string', describe: 'a TOML or JSON file of [[case]] tables' })
              .option('json', { type: 'boolean', describe: 'print the results as JSON' }),
          handler(async (args: TestArgs) => {
            const config = await loadConfigFor(args, io);
            const { parseCases, runCases } = await import('../../policy/index.js');
            const { readFile } = await import('node:fs/promises');
            const { resolve } = await import('node:path');
            const file = resolve(process.cwd(), args.file);
            const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) =>
              fail(`cannot read ${file}: ${err.code}`),
            );
            const results = runCases(config, parseCases(file, await parseDocument(file, text)));
            const failed = results.filter((r) => !r.ok);
            if (args.json)
              io.out(`${JSON.stringify(results.map((r) => ({ name: r.case.name, ok: r.ok, ...r.answer })))}\n`);
            else {
              for (const r of results) {
                const want = `${r.case.expect}${r.case.rule ? ` by ${r.case.rule}` : ''}`;
                io.out(
                  r.ok
                    ? `ok    ${r.case.name}: ${r.answer.decision} by ${r.answer.rule}\n`
                    : `FAIL  ${r.case.name}: expected ${want}, ` +
                        `got ${r.answer.decision} by ${r.answer.rule} (${r.answer.reason})\n`,
                );
              }
              io.out(`${results.length - failed.length} of ${results.length} cases pass\n`);
            }
            if (failed.length) setExit(1);
          }),
        )
        .demandCommand(1, 'name an action: explain or test'),
    () => {},
  );

async function fail(message: string): Promise<never> {
  const { GatekitError } = await import('../../errors.js');
  throw new GatekitError('USAGE', message);
}

async function parseArgs(text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    return fail('--args must be a JSON object, like \'{"path":"/srv/shared/a"}\'');
  }
}

async function parseDocument(file: string, text: string): Promise<unknown> {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      return fail(`${file}: not valid JSON: ${(err as Error).message}`);
    }
  }
  const { parse } = await import('smol-toml');
  try {
    return parse(text);
  } catch (err) {
    return fail(`${file}: not valid TOML: ${String((err as Error).message).split('\n')[0]}`);
  }
}
