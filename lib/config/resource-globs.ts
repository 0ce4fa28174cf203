import { normaliseUriGlob } from '../mcp/index.js';
import type { Section } from './section.js';

/** URI globs like "file:///srv/shared/**", normalised; one no URI could match is an error naming file and key. */
export function resourceGlobs(s: Section, key: string, fallback: readonly string[] = []): readonly string[] {
  return s.strings(key, fallback).map((glob) => {
    const normal = normaliseUriGlob(glob);
    if ('why' in normal)
      s.fail(key, `URI globs like ["file:///srv/shared/**"]; ${JSON.stringify(glob.slice(0, 100))} ${normal.why}`);
    return normal.uri;
  });
}
