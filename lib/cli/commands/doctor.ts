import type { Argv } from 'yargs';
import { handler, type Command, type CommonArgs } from './types.js';
import { printJson } from '../io.js';

export const doctorCommand: Command = (cli, io, setExit) =>
  cli.command(
    'doctor',
    'check config, keys, certificates, the identity provider, the login and the daemon; say how to fix each problem',
    (y: Argv) => y.option('json', { type: 'boolean', default: false }),
    handler(async (args: CommonArgs & { json: boolean }) => {
      const { loadConfig } = await import('../../config/index.js');
      const { runDoctor, renderResult } = await import('../../doctor/index.js');
      let results;
      try {
        results = await runDoctor(loadConfig({ config: args.config, env: io.env }), io.env);
      } catch (err) {
        const e = err as { message: string; hint?: string };
        results = [{ name: 'config', ok: false, detail: e.message, fix: e.hint }];
      }
      if (args.json) printJson(io, results);
      else for (const r of results) io.out(`${renderResult(r)}\n`);
      if (results.some((r) => !r.ok)) setExit(1);
    }),
  );
