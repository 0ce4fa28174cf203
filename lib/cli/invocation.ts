import { loadConfig, requireIdp, serverByName, type Config, type ServerConfig } from '../config/index.js';
import { cachedToken, LoginStore, type CachedToken } from '../store/index.js';
import { plainTokenArgs, type PlainTokenArgs } from './token-args.js';
import { formatToken } from './token-output.js';

/** The one look in the token cache a `broker token` makes before it takes the login's lock. */
export interface TokenLook {
  readonly config: string | undefined;
  readonly server: ServerConfig;
  readonly minTtl: number;
  /** Undefined: nothing with `minTtl` seconds left was in the cache. */
  readonly token: CachedToken | undefined;
}

/**
 * What one CLI run resolves once and every layer below reads: `GATEKIT_AGENT`, the plain `broker token`
 * arguments, the parsed config, and for a token the server and the cache's answer. The shipped bin's
 * bundled fast path makes it; on a cache miss the full CLI (another copy of this module) takes the same
 * object over (`invocationFor`), so a miss is not looked up, nor the config parsed, a second time.
 */
export class Invocation {
  /** The `gatekit exec` agent's socket (`GATEKIT_AGENT`): its agent answers every token request. */
  readonly agent: string | undefined;
  readonly plainToken: PlainTokenArgs | undefined;
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  #config: { path: string | undefined; config: Config } | undefined;
  #look: TokenLook | undefined;

  constructor(argv: readonly string[], env: NodeJS.ProcessEnv) {
    this.argv = argv;
    this.env = env;
    this.agent = env['GATEKIT_AGENT'] || undefined;
    this.plainToken = plainTokenArgs(argv);
  }

  /** The config at `path` (else the usual lookup), parsed once (loadConfig checks everything at load). */
  config(path: string | undefined): Config {
    if (!this.#config || this.#config.path !== path)
      this.#config = { path, config: loadConfig({ config: path, env: this.env }) };
    return this.#config.config;
  }

  /** The server named `name` resolved and the cache read, once: the same question again gets the same answer. */
  tokenLook(path: string | undefined, name: string, minTtl: number): TokenLook {
    const look = this.#look;
    if (look && look.config === path && look.server.name === name && look.minTtl === minTtl) return look;
    const config = this.config(path);
    const idp = requireIdp(config);
    const server = serverByName(config, name);
    const store = new LoginStore(idp.issuer, idp.client_id, config.file, this.env);
    this.#look = { config: path, server, minTtl, token: cachedToken(store, config, server, minTtl) };
    return this.#look;
  }

  /**
   * A plain `broker token` answered from the cache, formatted; undefined under `gatekit exec`, on a miss or
   * any problem (the full CLI takes over then, and reports errors properly).
   */
  cachedAnswer(): string | undefined {
    const plain = this.plainToken;
    if (!plain || this.agent) return undefined;
    try {
      const { token } = this.tokenLook(plain.config, plain.resource, plain.minTtl);
      return token ? formatToken(token, plain.format) : undefined;
    } catch {
      return undefined;
    }
  }
}

// One process, one invocation, shared by the bundled fast path and the full CLI it may hand over to.
const HELD = Symbol.for('gatekit.cli.invocation');
type Holder = { [HELD]?: Invocation | undefined };

/** This run's invocation: the one already made for these arguments and this environment, else a new one. */
export function invocationFor(argv: readonly string[], env: NodeJS.ProcessEnv): Invocation {
  const holder = globalThis as Holder;
  const held = holder[HELD];
  if (held && held.env === env && held.argv.length === argv.length && held.argv.every((a, i) => a === argv[i]))
    return held;
  holder[HELD] = new Invocation(argv, env);
  return holder[HELD];
}

/** The invocation a command handler runs in (main made it); a fresh one for a caller outside main. */
export function heldInvocation(env: NodeJS.ProcessEnv): Invocation {
  const held = (globalThis as Holder)[HELD];
  return held && held.env === env ? held : invocationFor([], env);
}

/** Called when a CLI run ends: the next one in this process (tests run several) resolves afresh. */
export function forgetInvocation(): void {
  delete (globalThis as Holder)[HELD];
}
