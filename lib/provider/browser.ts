import { spawn } from 'node:child_process';

/**
 * How to open a URL on this machine, or undefined when no browser can be opened (no display,
 * CI, over SSH without $BROWSER). $BROWSER wins, as with git and xdg-utils.
 */
export function browserOpener(env: NodeJS.ProcessEnv = process.env): ((url: string) => Promise<void>) | undefined {
  if (env['CI']) return undefined;
  const custom = env['BROWSER'];
  let command: string[] | undefined;
  if (custom) command = [custom];
  else if (process.platform === 'darwin') command = ['open'];
  else if (process.platform === 'win32') command = ['rundll32', 'url.dll,FileProtocolHandler'];
  else if (env['DISPLAY'] || env['WAYLAND_DISPLAY']) command = ['xdg-open'];
  if (!command) return undefined;
  const [file, ...args] = command as [string, ...string[]];
  return (url) =>
    new Promise((resolve) => {
      const child = spawn(file, [...args, url], { stdio: 'ignore', detached: true });
      child.on('error', () => resolve());
      child.on('spawn', () => {
        child.unref();
        resolve();
      });
    });
}
