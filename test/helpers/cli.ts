import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (tests run from dist/test). */
export const GATEKIT_BIN = fileURLToPath(new URL('../../bin/gatekit.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Spawns `gatekit ARGS…` as a user would (no TTY, CI unset unless given) and collects its output. */
export function spawnGatekit(args: readonly string[], options: CliOptions = {}): ChildProcess {
  const { CI: _ci, ...inherited } = process.env;
  return spawn(process.execPath, [GATEKIT_BIN, ...args], {
    cwd: options.cwd,
    env: { ...inherited, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function gatekit(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnGatekit(args, options);
  return collect(child, options);
}

export function collect(child: ChildProcess, options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin!.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  // On time-out the answer is what was seen so far: a grandchild holding our pipes must not keep 'close' away.
  const timer = setTimeout(() => {
    stderr += `\n[test: gatekit ${child.spawnargs.slice(2).join(' ')} killed after ${timeoutMs} ms]`;
    child.kill('SIGKILL');
    child.stdout!.destroy();
    child.stderr!.destroy();
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the first stderr match, e.g. the device-login prompt, while the process runs on. */
export function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern} in stderr:\n${seen}`)),
      timeoutMs,
    );
    const onData = (d: Buffer | string) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(m);
      }
    };
    child.stderr!.on('data', onData);
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`exited before ${pattern}; stderr:\n${seen}`));
    });
  });
}
