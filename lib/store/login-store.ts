import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { IdpLogin } from '../token/index.js';
import { GatekitError } from '../errors.js';
import { ensurePrivateDir, readJsonFile, untrustedReason, writeFileAtomic } from '../files.js';
import { acquireLock, type LockOptions } from './lock.js';
import { configRealPath, shortHash, stateDir } from './paths.js';

/**
 * A person's login at the identity provider, as the broker keeps it: which provider, what it answered
 * at the last login or renewal (`provider`, embedded as is), and when. Secret: 0600.
 */
export interface Login {
  /** The provider's issuer. */
  readonly idp: string;
  readonly client_id: string;
  readonly kind: 'oidc' | 'github';
  readonly provider: IdpLogin;
  readonly logged_in_at: number;
  readonly refreshed_at: number;
}

/**
 * The login file as version 1 wrote it (and still writes it: a user upgrading stays logged in, and an
 * older gatekit reads a newer file): the provider's answer flattened beside the other fields.
 */
type LoginFileV1 = Omit<Login, 'provider'> & IdpLogin & { readonly version: 1 };

function fromFile(file: LoginFileV1 | undefined): Login | undefined {
  if (file?.version !== 1 || !file.identity) return undefined;
  const { version: _v, idp, client_id, kind, logged_in_at, refreshed_at, ...provider } = file;
  return { idp, client_id, kind, provider, logged_in_at, refreshed_at };
}

function toFile(login: Login): LoginFileV1 {
  const { provider, ...rest } = login;
  const { identity, claims, refresh_token, access_token, id_token, expires_at } = provider;
  return { version: 1, ...rest, identity, claims, refresh_token, access_token, id_token, expires_at };
}

/** A Gatekit access token kept for reuse until shortly before it expires. Secret: 0600. */
export interface CachedToken {
  readonly access_token: string;
  readonly expires_at: number;
  readonly issued_at: number;
  readonly server: string;
  readonly resource: string;
  readonly issuer: string;
  readonly scope: string;
  readonly jti: string;
  /** RFC 8705 `cnf.x5t#S256` when the token is bound to a client certificate: part of the cache key. */
  readonly cnf_x5t?: string | undefined;
}

/**
 * A device login (RFC 8628 §3.3) waiting for the person, shared so that other processes show the same
 * URL and code instead of starting their own. Secret-ish (whoever has the code can approve it with
 * their own account): 0600, removed when the login ends.
 */
export interface PendingDevice {
  readonly verification_uri: string;
  readonly verification_uri_complete?: string | undefined;
  readonly user_code: string;
  readonly expires_at: number;
}

/**
 * Per-user login state for one IdP client *and one config file*: `<key>.session.json` (the login; the
 * file keeps the name it had when the login was called a session), one
 * `<key>.token.<hash>.json` per (broker issuer, resource), and `<key>.lock` for single-flight logins
 * and refreshes. The key includes the config file's real path, so a login (and the tokens minted
 * from it) is only ever sent where the config that made it sends it: a `gatekit.toml` in another
 * directory, with the same [idp] but its own listeners, starts from no login at all.
 */
export class LoginStore {
  readonly dir: string;
  /** The real path of the config this login state belongs to. */
  readonly configFile: string;
  readonly #key: string;

  constructor(idpIssuer: string, clientId: string, configFile: string, env: NodeJS.ProcessEnv = process.env) {
    this.dir = stateDir(env);
    const untrusted = untrustedReason(this.dir, 'owned');
    if (untrusted) {
      throw new GatekitError('CONFIG_INVALID', `refusing the login state directory: ${untrusted}`, {
        hint: `use a private directory (GATEKIT_HOME), or: chown $USER ${this.dir} && chmod 700 ${this.dir}`,
      });
    }
    this.configFile = configRealPath(configFile);
    this.#key = shortHash(idpIssuer, clientId, this.configFile);
  }

  get loginFile(): string {
    return join(this.dir, `${this.#key}.session.json`);
  }
  get lockFile(): string {
    return join(this.dir, `${this.#key}.lock`);
  }
  get pendingDeviceFile(): string {
    return join(this.dir, `${this.#key}.device.json`);
  }
  tokenFile(issuer: string, resource: string, binding?: string): string {
    const id = binding === undefined ? shortHash(issuer, resource) : shortHash(issuer, resource, binding);
    return join(this.dir, `${this.#key}.token.${id}.json`);
  }

  readLogin(): Login | undefined {
    return fromFile(readJsonFile<LoginFileV1>(this.loginFile));
  }

  writeLogin(login: Login): void {
    ensurePrivateDir(this.dir);
    writeFileAtomic(this.loginFile, JSON.stringify(toFile(login)), 0o600);
  }

  readToken(issuer: string, resource: string, binding?: string): CachedToken | undefined {
    const t = readJsonFile<CachedToken>(this.tokenFile(issuer, resource, binding));
    const matches = t && typeof t.access_token === 'string' && t.issuer === issuer && t.resource === resource;
    return matches && t.cnf_x5t === binding ? t : undefined;
  }

  writeToken(token: CachedToken): void {
    ensurePrivateDir(this.dir);
    writeFileAtomic(this.tokenFile(token.issuer, token.resource, token.cnf_x5t), JSON.stringify(token), 0o600);
  }

  listTokens(): CachedToken[] {
    return this.#ownFiles('.token.')
      .map((f) => readJsonFile<CachedToken>(join(this.dir, f)))
      .filter((t): t is CachedToken => !!t);
  }

  writePendingDevice(prompt: PendingDevice): void {
    ensurePrivateDir(this.dir);
    const { verification_uri, verification_uri_complete, user_code, expires_at } = prompt;
    const text = JSON.stringify({ verification_uri, verification_uri_complete, user_code, expires_at });
    writeFileAtomic(this.pendingDeviceFile, text, 0o600);
  }

  /** The device login another process is waiting on, while it has not expired. */
  readPendingDevice(now = Date.now() / 1000): PendingDevice | undefined {
    const p = readJsonFile<PendingDevice>(this.pendingDeviceFile);
    const ok =
      p &&
      typeof p.verification_uri === 'string' &&
      typeof p.user_code === 'string' &&
      typeof p.expires_at === 'number' &&
      (p.verification_uri_complete === undefined || typeof p.verification_uri_complete === 'string');
    return ok && p.expires_at > now ? p : undefined;
  }

  clearPendingDevice(): void {
    rmSync(this.pendingDeviceFile, { force: true });
  }

  /** Forgets the login and every token minted from it. */
  clear(): void {
    for (const f of this.#ownFiles('.')) if (!f.endsWith('.lock')) rmSync(join(this.dir, f), { force: true });
  }

  lock(options?: LockOptions): Promise<() => void> {
    ensurePrivateDir(this.dir);
    return acquireLock(this.lockFile, options);
  }

  #ownFiles(infix: string): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f.startsWith(`${this.#key}${infix}`) && f.endsWith('.json'));
    } catch {
      return [];
    }
  }
}
