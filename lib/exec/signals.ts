import type { ChildProcess } from 'node:child_process';

const ALWAYS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];
const FROM_TERMINAL: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];

/**
 * Passes signals sent to us on to the child. Ctrl-C and Ctrl-\ at a terminal already reach the
 * child (same foreground process group), so those are forwarded only when stdin is not a terminal;
 * a second copy would make clients like `claude` read one Ctrl-C as two. Returns the uninstaller.
 */
export function forwardSignals(child: ChildProcess, stdinIsTerminal: boolean): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of [...ALWAYS, ...FROM_TERMINAL]) {
    const forward = ALWAYS.includes(signal) || !stdinIsTerminal;
    const handler = () => {
      if (forward && child.exitCode === null) child.kill(signal);
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
