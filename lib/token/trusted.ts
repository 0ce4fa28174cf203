import { statSync, type Stats } from 'node:fs';
import { GatekitError } from '../errors.js';
import { fetchJwks, type JwksFetchOptions } from './jwks-fetch.js';
import { readJwksFile, type Jwks, type JoseKey, type PublicJwk } from './keys.js';
import { trustKeys, type TrustedKeys } from './verify.js';

export interface TrustedKeyOptions extends JwksFetchOptions {
  /** Least time between two re-reads that unknown kids cause (default 30 s; tests use 0). */
  readonly minRefreshMs?: number;
  /** A URL's keys are fetched again, in the background, once they are this old (default 10 min). */
  readonly maxAgeMs?: number;
  /** Where a failed refresh is reported (the daemon's stderr). */
  readonly say?: (line: string) => void;
  readonly now?: () => number;
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);
const sameFile = (a: Stats | undefined, b: Stats) =>
  a !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

function onlyEd25519(doc: unknown): Jwks {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new GatekitError('KEY_INVALID', 'the trusted key set has no "keys" array');
  const usable = (k: PublicJwk) =>
    k?.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string' && typeof k.kid === 'string';
  return { keys: keys.filter(usable) };
}

/**
 * The daemon's trusted keys from a JWKS file or URL, kept current without a signal: a token naming
 * an unknown kid makes the source look again (a file when it changed on disk, or at most once per
 * `minRefreshMs`), a URL's keys are refetched once older than `maxAgeMs`, and a failed re-read
 * keeps the last good keys. Keys come only from the configured source, never from a token.
 */
export class TrustedKeySource implements TrustedKeys {
  readonly source: string;
  readonly #options: TrustedKeyOptions;
  #byKid: ReadonlyMap<string, JoseKey> = new Map();
  #loadedAt = -Infinity;
  #attemptedAt = -Infinity;
  #fileStats: Stats | undefined;
  #inFlight: Promise<void> | undefined;
  #version = 0;

  constructor(source: string, options: TrustedKeyOptions = {}) {
    this.source = source;
    this.#options = options;
  }

  get byKid(): ReadonlyMap<string, JoseKey> {
    if (isUrl(this.source) && this.#now() - this.#loadedAt >= (this.#options.maxAgeMs ?? 600_000) && this.#mayRetry()) {
      void this.#reload().catch(() => {
        /* reported by #reload; the last good keys stay */
      });
    }
    return this.#byKid;
  }

  /** Loads now; throws if it fails (the first load at start-up, `gatekit token verify`). */
  async load(): Promise<void> {
    this.#attemptedAt = this.#now();
    if (isUrl(this.source)) {
      this.#byKid = (await trustKeys(onlyEd25519(await fetchJwks(this.source, this.#options)))).byKid;
    } else {
      const stats = statSync(this.source, { throwIfNoEntry: false });
      this.#byKid = (await trustKeys(readJwksFile(this.source))).byKid;
      this.#fileStats = stats;
    }
    this.#loadedAt = this.#now();
    this.#version++;
  }

  get version(): number {
    return this.#version;
  }

  /** A token named a kid we do not know: look again if the source may have changed, then answer. */
  async refresh(kid: string): Promise<JoseKey | undefined> {
    const stats = isUrl(this.source) ? undefined : statSync(this.source, { throwIfNoEntry: false });
    const changed = stats !== undefined && !sameFile(this.#fileStats, stats);
    if (changed || this.#mayRetry()) {
      try {
        await this.#reload();
      } catch {
        /* reported; the last good keys stay */
      }
    }
    return this.#byKid.get(kid);
  }

  #mayRetry(): boolean {
    return this.#now() - this.#attemptedAt >= (this.#options.minRefreshMs ?? 30_000);
  }

  #reload(): Promise<void> {
    this.#inFlight ??= this.load()
      .catch((err: Error) => {
        const kept = `keeping ${this.#byKid.size} known key(s)`;
        this.#options.say?.(`gatekit daemon: cannot refresh trusted keys from ${this.source}, ${kept}: ${err.message}`);
        throw err;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** Loads the trusted keys from a JWKS file or an http(s) URL; throws if they cannot be read now. */
export async function loadTrustedKeys(source: string, options: TrustedKeyOptions = {}): Promise<TrustedKeySource> {
  const keys = new TrustedKeySource(source, options);
  try {
    await keys.load();
  } catch (cause) {
    if (cause instanceof GatekitError) throw cause;
    throw new GatekitError('KEY_INVALID', `cannot load trusted keys from ${source}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return keys;
}

/**
 * The daemon's start-up: like loadTrustedKeys, but a URL that cannot be reached right now is no
 * reason to die. The daemon starts with no keys, says so, and fetches again when a token arrives.
 */
export async function openTrustedKeys(source: string, options: TrustedKeyOptions = {}): Promise<TrustedKeySource> {
  if (!isUrl(source)) return loadTrustedKeys(source, options);
  const keys = new TrustedKeySource(source, options);
  try {
    await keys.load();
  } catch (err) {
    options.say?.(
      `gatekit daemon: cannot load trusted keys from ${source} (${(err as Error).message}); ` +
        'starting with none and trying again as tokens arrive',
    );
  }
  return keys;
}
