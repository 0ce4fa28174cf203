import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, request, type Dispatcher } from 'undici';
import { loadSigningKey, mintAccessToken } from '../lib/token/index.js';
import { ASKER_CONFIG } from './helpers/asker.js';
import {
  daemonConfig,
  INITIALIZE,
  JSON_HEADERS,
  NOTES_SERVER,
  startHarness,
  type Harness,
} from './helpers/daemon-harness.js';
import { modernBody, modernHeaders } from './helpers/modern-client.js';
import { startTokenHost } from './helpers/token-endpoint.js';

/** Every wait in this file is on an event; this bounds it (the old daemon never closed these connections). */
const BOUND_MS = 60_000;

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${BOUND_MS} ms`)), BOUND_MS);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * A client that sends a POST's headers, then its body one byte every 200 ms, forever; resolves with what the
 * server answered once the server closes the connection.
 */
function trickle(socketPath: string, headers: Record<string, string>): Promise<string> {
  return bounded(
    new Promise((resolve) => {
      const socket = connect(socketPath);
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        const lines = Object.entries({ host: 'localhost', 'content-length': '100000', ...headers });
        socket.write(
          `POST ${headers['x-path'] ?? '/mcp'} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n{`,
        );
        timer = setInterval(() => socket.write('a'), 200);
      });
      socket.on('data', (d) => (answer += String(d)));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(answer);
      });
    }),
    'a trickled body',
  );
}

/** Resolves once the stream's text so far matches `pattern`; rejects if it ends first. */
function seen(body: Dispatcher.ResponseData['body'], pattern: RegExp, what: string): Promise<string> {
  let text = '';
  return bounded(
    new Promise((resolve, reject) => {
      body.on('data', (d: Buffer) => {
        text += String(d);
        if (pattern.test(text)) resolve(text);
      });
      body.on('end', () => reject(new Error(`${what} ended before ${pattern}: ${text}`)));
      body.on('error', reject);
    }),
    what,
  );
}

const LIMITS = 'request_timeout = "1s"';

describe('every listener bounds request time: a trickled body or a silent connection is closed', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(await daemonConfig(ASKER_CONFIG, LIMITS));
  });
  after(async () => {
    await h.close();
  });
  const socketOf = (server: string) => (h.config.servers.get(server)!.listen as { path: string }).path;

  it('a body trickled one byte every 200 ms gets 408 and its connection closes at request_timeout', async () => {
    const token = await h.token('notes');
    const answer = await trickle(socketOf('notes'), {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(!answer.includes(token));
  });

  it('a connection that never sends a byte is closed', async () => {
    const closed = await bounded(
      new Promise<boolean>((resolve) => {
        const socket = connect(socketOf('notes'));
        socket.on('error', () => {});
        socket.on('close', () => resolve(true));
      }),
      'a silent connection',
    );
    assert.equal(closed, true);
  });

  it('a GET stream and a listen stream outlive request_timeout and still deliver', async () => {
    const token = await h.token('asker');
    const via = h.unix('asker');
    const auth = { authorization: `Bearer ${token}`, host: 'localhost' };
    const init = await request('http://localhost/mcp', {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...auth },
      body: INITIALIZE,
      dispatcher: via,
    });
    await init.body.text();
    const session = init.headers['mcp-session-id'] as string;
    const get = await request('http://localhost/mcp', {
      method: 'GET',
      headers: { ...auth, accept: 'text/event-stream', 'mcp-session-id': session },
      dispatcher: via,
    });
    assert.equal(get.statusCode, 200);
    const getChanged = seen(get.body, /notifications\/tools\/list_changed/, 'the GET stream');
    const listen = await request('http://localhost/mcp', {
      method: 'POST',
      headers: { ...modernHeaders(token, 'subscriptions/listen'), host: 'localhost' },
      body: modernBody(5, 'subscriptions/listen', { notifications: { toolsListChanged: true } }),
      dispatcher: via,
    });
    assert.equal(listen.statusCode, 200);
    const listenChanged = seen(listen.body, /notifications\/tools\/list_changed/, 'the listen stream');
    // A trickled body started after both streams opened is cut at request_timeout: by then both are older than it.
    assert.match(await trickle(socketOf('asker'), { 'content-type': 'application/json', ...auth }), /^HTTP\/1\.1 408 /);
    const call = (headers: Record<string, string>, body: string) =>
      request('http://localhost/mcp', { method: 'POST', headers, body, dispatcher: via }).then((r) => r.body.text());
    const change = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'change', arguments: {} } };
    await call({ ...JSON_HEADERS, ...auth, 'mcp-session-id': session }, JSON.stringify(change));
    await getChanged;
    await call(
      { ...modernHeaders(token, 'tools/call', 'change'), host: 'localhost' },
      modernBody(10, 'tools/call', { name: 'change', arguments: {} }),
    );
    await listenChanged;
    get.body.destroy();
    listen.body.destroy();
  });
});

describe('the anonymous token socket has a small connection cap', () => {
  it('idle connections past token_max_connections are closed at once; the owner still initializes over MCP', async (t) => {
    const host = await startTokenHost('https://idp.invalid', '[daemon.limits]\ntoken_max_connections = 8', '', {
      notesCommand: `["${process.execPath}", "${NOTES_SERVER}"]`,
    });
    const sockets: ReturnType<typeof connect>[] = [];
    t.after(async () => {
      for (const s of sockets) s.destroy();
      await host.close();
    });
    const FLOOD = 200;
    let closed = 0;
    await bounded(
      new Promise<void>((resolve) => {
        for (let i = 0; i < FLOOD; i++) {
          const socket = connect(host.socket);
          socket.on('error', () => {});
          socket.on('close', () => {
            if (++closed === FLOOD - 8) resolve();
          });
          sockets.push(socket);
        }
      }),
      'the connections past the cap',
    );
    assert.equal(closed, FLOOD - 8, 'the 8 under the cap stay open; every other one was closed');
    const key = await loadSigningKey(join(host.ws.dir, 'keys', 'broker.jwk'));
    const { token } = await mintAccessToken(key, {
      identity: { user: 'alice@example.com', sub: 'sub-alice', groups: [] },
      issuer: 'urn:gatekit:broker:shared-host',
      resource: 'urn:gatekit:server:notes',
      scope: 'tools:*',
      clientId: 'gatekit-cli',
      userClaim: 'email',
      ttl: 300,
    });
    const agent = new Agent({ connect: { socketPath: join(host.ws.dir, 'run', 'notes.sock') } });
    t.after(() => agent.close());
    const init = await request('http://localhost/mcp', {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: 'localhost', authorization: `Bearer ${token}` },
      body: INITIALIZE,
      dispatcher: agent,
    });
    await init.body.text();
    assert.equal(init.statusCode, 200);
  });
});
