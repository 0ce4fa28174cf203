import type { BrokerContext, DpopBinding } from '../broker/index.js';
import { tokenEndpointUrl, type ServerConfig } from '../config/index.js';
import type { DpopKey } from '../token/index.js';
import { login, tokenFor } from '../broker/index.js';
import { GatekitError, isGatekitError } from '../errors.js';
import type { DevicePrompt } from '../provider/index.js';
import type { PendingDevice } from '../store/index.js';

const MIN_TTL = 60;
/** Larger than any token's lifetime: forces a new mint after the daemon refused ours. */
const FORCE_NEW = 3601;

/**
 * Tokens for one server, for as long as `gatekit connect` runs: kept in memory until a minute
 * before expiry, then renewed through the exec agent or the shared cache (single-flight across
 * processes). When the login itself has ended, a device login starts in the background and its
 * URL and code are thrown as LOGIN_REQUIRED, for the bridge to show in the failing call.
 */
export class TokenSource {
  readonly #ctx: BrokerContext;
  readonly #server: ServerConfig;
  readonly #say: (line: string) => void;
  readonly #key: Promise<DpopKey> | undefined;
  #token: { value: string; expires_at: number } | undefined;
  #login: { prompt: Promise<DevicePrompt> } | undefined;

  /** With `key`, every token is bound to it (RFC 9449 `cnf.jkt`) and lives in this process only. */
  constructor(ctx: BrokerContext, server: ServerConfig, say: (line: string) => void, key?: Promise<DpopKey>) {
    this.#ctx = ctx;
    this.#server = server;
    this.#say = say;
    this.#key = key;
  }

  async get(force = false): Promise<string> {
    if (!force && this.#token && this.#token.expires_at - Date.now() / 1000 > MIN_TTL) return this.#token.value;
    this.#token = undefined;
    // While a login waits for the person, answer at once with its code instead of queueing on its lock.
    if (this.#login) throw loginRequired(this.#ctx, await this.#promptOf(this.#login.prompt));
    try {
      const minTtl = force ? FORCE_NEW : MIN_TTL;
      const dpop = await this.#binding();
      const t = await tokenFor(
        this.#ctx,
        { server: this.#server, minTtl, interactive: false, dpop },
        { say: this.#say },
      );
      this.#token = { value: t.access_token, expires_at: t.expires_at };
      return t.access_token;
    } catch (err) {
      if (!isGatekitError(err, 'LOGIN_REQUIRED')) throw err;
      // Another process's device login is waiting for the person: show its code, start none of our own.
      const elsewhere = this.#ctx.store.readPendingDevice();
      throw loginRequired(this.#ctx, elsewhere ?? (await this.#promptOf(this.#startLogin())), err);
    }
  }

  /**
   * The daemon wants a fresher login for a call (a `fresh_login` rule): start a device login that
   * makes the provider authenticate the person again, and return its URL and code as LOGIN_REQUIRED.
   * The current token keeps serving other calls until the login completes; then a new one is minted.
   */
  async stepUp(): Promise<GatekitError> {
    return loginRequired(this.#ctx, await this.#promptOf(this.#startLogin(true)));
  }

  /**
   * The device login's URL and code; when the login cannot even start (the provider is unreachable), still
   * LOGIN_REQUIRED — what the client's person must do — with why it could not start and what to run.
   */
  async #promptOf(prompt: Promise<DevicePrompt>): Promise<DevicePrompt> {
    try {
      return await prompt;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GatekitError(
        'LOGIN_REQUIRED',
        `Gatekit login required for ${this.#ctx.store.configFile}, and a login could not start: ${why}. ` +
          `When the identity provider is reachable, try again (a new login starts), or run "gatekit broker login --config ${this.#ctx.store.configFile}" in a terminal.`,
        { cause: err },
      );
    }
  }

  /** RFC 9449 §5: the key's thumbprint plus a fresh proof for the token endpoint (or the exec agent). */
  async #binding(): Promise<DpopBinding | undefined> {
    const key = await this.#key;
    if (!key) return undefined;
    return { jkt: key.jkt, proof: await key.proof('POST', tokenEndpointUrl(this.#ctx.config.daemon.token_listen)) };
  }

  #startLogin(reauthenticate = false): Promise<DevicePrompt> {
    if (this.#login) return this.#login.prompt;
    let shown!: (p: DevicePrompt) => void;
    let failed!: (err: unknown) => void;
    const prompt = new Promise<DevicePrompt>((resolve, reject) => {
      shown = resolve;
      failed = reject;
    });
    this.#login = { prompt };
    login(this.#ctx, { flow: 'device', resources: [] }, { say: this.#say, onDeviceCode: shown, reauthenticate })
      .then(() => {
        this.#token = undefined;
        this.#say('gatekit connect: logged in again; calls work now');
      })
      .catch((err: unknown) => {
        failed(err);
        this.#say(`gatekit connect: the login did not complete: ${(err as Error).message}`);
      })
      .finally(() => {
        this.#login = undefined;
      });
    return prompt;
  }
}

/** Names the config file: a login is bound to it (see LoginStore), and a person should know which one. */
function loginRequired(ctx: BrokerContext, prompt: PendingDevice, cause?: unknown): GatekitError {
  const where = prompt.verification_uri_complete ?? prompt.verification_uri;
  return new GatekitError(
    'LOGIN_REQUIRED',
    `Gatekit login required for ${ctx.store.configFile}: open ${where} and enter the code ${prompt.user_code}, then try again.`,
    { cause },
  );
}
