import type { Listen } from './types.js';

/** Parses "unix:PATH", "HOST:PORT" or "[V6]:PORT" without judging the host. */
export function parseListen(value: string): Listen | undefined {
  if (value.startsWith('unix:')) {
    const path = value.slice(5);
    return path === '' ? undefined : { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { kind: 'tcp', host: m[1] ?? m[2]!, port };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(h);
}

export function formatListen(listen: Listen): string {
  if (listen.kind === 'unix') return `unix:${listen.path}`;
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

/**
 * The `htu` of a DPoP proof sent with a token request (RFC 9449 §5): the daemon's token endpoint —
 * `http://localhost/token` on a Unix socket, `https://HOST:PORT/token` on mTLS. The exec agent checks
 * the same URL in local mode, where no endpoint exists.
 */
export function tokenEndpointUrl(tokenListen: Listen | undefined): string {
  if (!tokenListen || tokenListen.kind === 'unix') return 'http://localhost/token';
  const host = tokenListen.host.includes(':') ? `[${tokenListen.host}]` : tokenListen.host;
  return `https://${host}:${tokenListen.port}/token`;
}
