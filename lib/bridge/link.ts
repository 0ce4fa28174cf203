import { connectBinding, type BrokerContext } from '../broker/index.js';
import { serverByName } from '../config/index.js';
import { DpopKey, ProofsAhead } from '../token/index.js';
import { TokenSource } from './tokens.js';
import { daemonEndpoint, send, type DaemonEndpoint, type DaemonResponse } from './transport.js';

export type HttpMethod = 'POST' | 'GET' | 'DELETE';
/** A POST takes either answer shape of Streamable HTTP: one JSON body or an SSE stream. */
export const ACCEPT_POST = 'application/json, text/event-stream';

/**
 * `gatekit connect`'s way to the daemon's listener for one server: every request carries a fresh token
 * (and, for a DPoP-bound server, a fresh proof); the era-specific headers come from the caller.
 */
export class DaemonLink {
  readonly tokens: TokenSource;
  readonly #endpoint: DaemonEndpoint;
  /**
   * This process's DPoP key (RFC 9449), when the server's tokens are bound to one; never leaves memory. PS256: of
   * the algorithms a DPoP verifier takes, an RSA signature is the cheapest to check (the daemon's cost, every call)
   * and the dearest to make, so each proof is signed ahead, off the request's path (ProofsAhead).
   */
  readonly #dpop: Promise<DpopKey> | undefined;
  readonly #proofs: Promise<ProofsAhead> | undefined;

  constructor(ctx: BrokerContext, serverName: string, say: (line: string) => void) {
    const server = serverByName(ctx.config, serverName);
    this.#endpoint = daemonEndpoint(ctx.config, server);
    this.#dpop = connectBinding(ctx.config, server) === 'dpop' ? DpopKey.generate('PS256') : undefined;
    this.#proofs = this.#dpop?.then((key) => new ProofsAhead(key));
    this.tokens = new TokenSource(ctx, server, say, this.#dpop);
  }

  /** POST with the current token; a 401 gets one retry with a newly minted token. */
  async post(body: string, headers: Record<string, string>, signal?: AbortSignal): Promise<DaemonResponse> {
    let res = await this.send('POST', headers, body, signal, await this.tokens.get());
    if (res.status === 401) {
      await res.body.dump();
      res = await this.send('POST', headers, body, signal, await this.tokens.get(true));
    }
    return res;
  }

  async send(
    method: HttpMethod,
    headers: Record<string, string>,
    body?: string,
    signal?: AbortSignal,
    token?: string,
  ): Promise<DaemonResponse> {
    const credential = token ?? (await this.tokens.get());
    const proofs = await this.#proofs;
    const all: Record<string, string> = { ...headers, authorization: `${proofs ? 'DPoP' : 'Bearer'} ${credential}` };
    // RFC 9449 §7.1: a fresh proof for this very request (method, URL, token hash).
    if (proofs) all['dpop'] = await proofs.proof(method, this.#endpoint.url, credential);
    if (body !== undefined) all['content-type'] = 'application/json';
    return send(this.#endpoint, method, all, body, signal);
  }

  close(): Promise<void> {
    return this.#endpoint.dispatcher.close();
  }
}
