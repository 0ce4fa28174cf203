import { watch } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Resolves with `check()`'s first non-undefined answer, re-asked whenever something changes in the folder of
 * `file` (fs.watch, no polling). Rejects after `boundMs` with a message naming `what` was waited for.
 */
export function whenFile<T>(file: string, check: () => T | undefined, what: string, boundMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const watcher = watch(dirname(file));
    const done = (): void => {
      clearTimeout(timer);
      watcher.close();
    };
    const attempt = (): void => {
      let answer: T | undefined;
      try {
        answer = check();
      } catch (err) {
        // Not there yet, or a line caught half-written: ask again on the next change.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) {
          done();
          reject(err as Error);
        }
        return;
      }
      if (answer === undefined) return;
      done();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: not there after ${boundMs} ms`));
    }, boundMs);
    watcher.on('change', attempt);
    watcher.on('error', (err) => {
      done();
      reject(err);
    });
    attempt();
  });
}
