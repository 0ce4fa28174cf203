import type { ServerConfig } from '../config/index.js';
import { GatekitError, isGatekitError } from '../errors.js';
import type { LoginIO } from '../provider/index.js';
import { cachedToken, type CachedToken, type Login } from '../store/index.js';
import type { DpopBinding } from './binding.js';
import type { BrokerContext } from './context.js';
import { mintForServer } from './mint.js';
import { interactiveLogin, renewLogin } from './idp-login.js';

export interface TokenInput {
  /** Resolved by the caller, once (`serverByName`). */
  readonly server: ServerConfig;
  /** A cached token is used only with at least this many seconds left. */
  readonly minTtl: number;
  /** May a login be started (a person at a TTY)? Otherwise LOGIN_REQUIRED. */
  readonly interactive: boolean;
  /**
   * Bind the token to this DPoP key (RFC 9449 `cnf.jkt`). Such a token is useless to any other
   * process, so it bypasses the shared token cache (the login's lock still makes renewal single-flight).
   */
  readonly dpop?: DpopBinding | undefined;
  /** The caller has just looked in the cache with this `minTtl` and found nothing: straight to the lock. */
  readonly cacheMissed?: boolean | undefined;
}

/**
 * The one token source, for `broker token`, `connect`, `exec` and its agent: under `gatekit exec` its
 * agent answers (ctx.agent), else the cache if fresh enough, else a token minted after renewing the
 * login. One process at a time renews (a lock beside the cache); the others wait and then find
 * its token in the cache. Without a usable login: a login when interactive, else LOGIN_REQUIRED.
 * The CLI's fast path reads the same cache with the same rule (`cachedToken` in lib/store).
 */
export async function tokenFor(ctx: BrokerContext, input: TokenInput, io: LoginIO): Promise<CachedToken> {
  const { server } = input;
  if (ctx.agent) return ctx.agent(server.name, input.minTtl, input.dpop?.proof);
  const fresh = () => (input.dpop ? undefined : cachedToken(ctx.store, ctx.config, server, input.minTtl));
  const hit = input.cacheMissed ? undefined : fresh();
  if (hit) return hit;
  const release = await ctx.store.lock({
    signal: io.signal,
    onWait: () => io.say('Waiting for another gatekit process to renew the login…'),
    // No person here to wait for: a login elsewhere may take minutes (or never end).
    timeoutMs: input.interactive ? undefined : nonInteractiveLockWait(ctx.env),
    onPoll: input.interactive
      ? undefined
      : () => {
          if (ctx.store.readPendingDevice()) {
            throw new GatekitError('LOGIN_REQUIRED', 'a login is in progress elsewhere (waiting for a person)', {
              hint: 'approve that login, then run this again',
            });
          }
        },
  });
  try {
    // Whoever held the lock before us may have just renewed: look again, under the lock.
    const again = fresh();
    if (again) return again;
    return await mintForServer(ctx, server, await usableLogin(ctx, input.interactive, io), input.dpop);
  } finally {
    release();
  }
}

/** 10 s; `GATEKIT_TEST_LOCK_WAIT_MS` shortens it, for tests only. */
function nonInteractiveLockWait(env: NodeJS.ProcessEnv): number {
  const override = Number.parseInt(env['GATEKIT_TEST_LOCK_WAIT_MS'] ?? '', 10);
  return override >= 0 ? override : 10_000;
}

async function usableLogin(ctx: BrokerContext, interactive: boolean, io: LoginIO): Promise<Login> {
  const stored = ctx.store.readLogin();
  try {
    if (!stored) {
      throw new GatekitError('LOGIN_REQUIRED', `not logged in with ${ctx.store.configFile}`, {
        hint: 'run "gatekit broker login"',
      });
    }
    const now = Date.now() / 1000;
    // A provider without refresh tokens: the login lasts as long as its access token did.
    const { refresh_token, expires_at } = stored.provider;
    if (!refresh_token && expires_at !== undefined && expires_at > now) return stored;
    return await renewLogin(ctx, stored);
  } catch (err) {
    if (!interactive || !isGatekitError(err, 'LOGIN_REQUIRED')) throw err;
    io.say(`${err.message}; starting a new login.`);
    return interactiveLogin(ctx, undefined, io);
  }
}

/**
 * Makes sure a login exists (without refreshing it): `gatekit exec` calls it before the command
 * owns the terminal. Starts a login only when interactive; else LOGIN_REQUIRED.
 */
export async function ensureLogin(ctx: BrokerContext, interactive: boolean, io: LoginIO): Promise<Login> {
  const existing = ctx.store.readLogin();
  if (existing) return existing;
  if (!interactive) {
    throw new GatekitError('LOGIN_REQUIRED', `not logged in with ${ctx.store.configFile}`, {
      hint: 'run "gatekit broker login" first',
    });
  }
  const release = await ctx.store.lock({ signal: io.signal });
  try {
    return ctx.store.readLogin() ?? (await interactiveLogin(ctx, undefined, io));
  } finally {
    release();
  }
}
