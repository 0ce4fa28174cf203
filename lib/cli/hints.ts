import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (dist/lib/cli → ../../..). Only a checkout has tsconfig.json: the package never ships it. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/**
 * How this person runs Gatekit, for the commands hints and banners tell them to type: `npx gatekit` in a
 * checkout (npm runs the checkout's own bin), `npx @gatekit-dev/gatekit` when npx fetched the package,
 * `gatekit` when that is on PATH, else the path that was started (an install with `--prefix`).
 */
export function gatekitCommand(env: NodeJS.ProcessEnv, started: string | undefined = process.argv[1]): string {
  if (existsSync(join(ROOT, 'tsconfig.json'))) return 'npx gatekit';
  if (env['npm_command'] === 'exec') return 'npx @gatekit-dev/gatekit';
  if (!started) return 'gatekit';
  const self = realpathOrSelf(started);
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'gatekit');
    if (isExecutable(candidate)) return realpathOrSelf(candidate) === self ? 'gatekit' : quote(started);
  }
  return quote(started);
}

function realpathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const COMMANDS = 'init|keys|broker|token|daemon|audit|policy|connect|exec|client-config|doctor|dev';
/** "gatekit" where it starts a command line in a hint: `run "gatekit broker login"`, `$(gatekit broker token …)`. */
const COMMAND_IN_TEXT = new RegExp(`(^|[\\s"'\`(])gatekit(?= (?:${COMMANDS})\\b| --help\\b| COMMAND\\b)`, 'g');

/**
 * A hint as this person would type it: "gatekit broker login" becomes their way of running Gatekit, and a
 * login hint keeps the `--resource` they asked for, so the command they copy does what they meant.
 */
export function personalHint(hint: string, argv: readonly string[], command: string): string {
  const resources = flagValues(argv, '--resource');
  let text = hint;
  if (resources.length)
    text = text.replace(
      /gatekit broker login(?! --resource)/g,
      `gatekit broker login ${resources.map((r) => `--resource ${quote(r)}`).join(' ')}`,
    );
  return text.replace(COMMAND_IN_TEXT, `$1${command}`);
}

function flagValues(argv: readonly string[], flag: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === flag && argv[i + 1] !== undefined) values.push(argv[i + 1]!);
    else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
  });
  return values;
}
