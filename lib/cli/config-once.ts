import { findConfigFile, loadConfig, type Config, type ConfigLookup } from '../config/index.js';

// One process, one parse: the shipped bin's fast path (a bundled copy of this module) parses the config, and on a
// cache miss the full CLI it hands over to takes that parse from here instead of reading the file again.
const PARSED = Symbol.for('gatekit.cli.config');
type Holder = { [PARSED]?: Config | undefined };

/** The config for this lookup, parsed once per CLI invocation (loadConfig checks everything at load). */
export function configOnce(lookup: ConfigLookup): Config {
  const holder = globalThis as Holder;
  const parsed = holder[PARSED];
  if (parsed && parsed.file === findConfigFile(lookup)) return parsed;
  const config = loadConfig(lookup);
  holder[PARSED] = config;
  return config;
}

/** Called when a CLI invocation ends: the next one in this process (tests run several) parses afresh. */
export function forgetConfig(): void {
  delete (globalThis as Holder)[PARSED];
}
