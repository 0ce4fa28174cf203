// `prepare`: npm runs it on `npm install` in the checkout and when the first `npx gatekit` links the
// checkout into npx's cache. A full build takes tens of seconds; when dist/ was built from the current
// sources there is nothing to do, so the command the person typed starts at once.
import { spawnSync } from 'node:child_process';
import { distIsCurrent, ROOT } from './build-inputs.mjs';

if (distIsCurrent()) {
  console.error('prepare: dist/ is current (built from these sources); no rebuild');
} else {
  const npm = process.env['npm_execpath'];
  const build = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: ROOT, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  process.exitCode = build.status ?? 1;
}
