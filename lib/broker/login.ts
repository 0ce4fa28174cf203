import { serverByName } from '../config/index.js';
import { isGatekitError } from '../errors.js';
import type { LoginFlow, LoginIO } from '../provider/index.js';
import type { CachedToken, Login } from '../store/index.js';
import type { BrokerContext } from './context.js';
import { mintForServer } from './mint.js';
import { describeIdentity, interactiveLogin } from './idp-login.js';

export interface LoginInput {
  readonly flow?: LoginFlow | undefined;
  readonly resources: readonly string[];
}

export interface LoginResult {
  readonly login: Login;
  readonly tokens: readonly CachedToken[];
  /** Servers named with --resource that the policy refused, with the reason. */
  readonly denied: readonly { readonly server: string; readonly reason: string; readonly hint?: string }[];
}

/**
 * `gatekit broker login`: an interactive login (single-flight with other gatekit processes), then
 * a token for each --resource. The login itself succeeds for anyone the IdP vouches for; the
 * policy refuses per server afterwards.
 */
export async function login(ctx: BrokerContext, input: LoginInput, io: LoginIO): Promise<LoginResult> {
  const servers = input.resources.map((name) => serverByName(ctx.config, name));
  const startedAt = Math.floor(Date.now() / 1000);
  let waited = false;
  let shown = false;
  const release = await ctx.store.lock({
    signal: io.signal,
    onWait: () => {
      waited = true;
      io.say('Another gatekit login is in progress; waiting for it to finish…');
    },
    onPoll: () => {
      const pending = shown ? undefined : ctx.store.readPendingDevice();
      if (!pending) return;
      shown = true;
      io.say(`That login waits for: open ${pending.verification_uri} and enter the code ${pending.user_code}`);
      io.onDeviceCode?.(pending);
    },
  });
  let login: Login;
  try {
    // One login per person at a time: a login that finished while we waited is ours too.
    const finished = waited ? ctx.store.readLogin() : undefined;
    login = finished && finished.logged_in_at >= startedAt ? finished : await interactiveLogin(ctx, input.flow, io);
  } finally {
    release();
  }
  io.say(`Logged in as ${describeIdentity(login)}.`);
  const tokens: CachedToken[] = [];
  const denied: { server: string; reason: string; hint?: string }[] = [];
  for (const server of servers) {
    try {
      tokens.push(await mintForServer(ctx, server, login));
    } catch (err) {
      if (!isGatekitError(err, 'POLICY_DENIED')) throw err;
      denied.push({ server: server.name, reason: err.message, ...(err.hint ? { hint: err.hint } : {}) });
    }
  }
  return { login, tokens, denied };
}
