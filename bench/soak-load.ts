/**
 * One soak client (bench/soak.ts): raw Streamable HTTP over the daemon's Unix socket, so that every HTTP request it
 * sends is counted and its audit line can be matched. Mixed calls, sessions opened on a schedule (every other one
 * DELETEd, the rest abandoned to eviction and the idle timeout), a GET stream on some, trickled bodies, and requests
 * aborted mid-body or while their answer is awaited. Bounded by a deadline and a request budget.
 */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';

export interface Tally {
  /** HTTP requests sent: each must have exactly one terminal audit line (DELETE's is its `session.end`). */
  requests: number;
  /** JSON-RPC ids of the requests the daemon answered: each must be on exactly one line. */
  readonly answered: string[];
  sessions: number;
  deleted: number;
  abandoned: number;
  denied: number;
  trickled: number;
  abortedInBody: number;
  abortedWaiting: number;
  streams: number;
  readonly statuses: Map<number, number>;
  /** Transport failures the soak did not cause on purpose. */
  failures: number;
}

export function newTally(): Tally {
  return {
    requests: 0,
    answered: [],
    sessions: 0,
    deleted: 0,
    abandoned: 0,
    denied: 0,
    trickled: 0,
    abortedInBody: 0,
    abortedWaiting: 0,
    streams: 0,
    statuses: new Map(),
    failures: 0,
  };
}

export interface SoakClient {
  readonly index: number;
  readonly socketPath: string;
  readonly dispatcher: Dispatcher;
  readonly token: string;
  /** Sessions this client opens over the run, spread evenly in time. */
  readonly sessions: number;
  readonly deadline: number;
  readonly maxRequests: number;
}

const VERSION = '2025-06-18';

export async function runClient(c: SoakClient, tally: Tally): Promise<void> {
  let n = 0;
  const id = () => `${c.index}.${n++}`;
  const headers = (sid?: string): Record<string, string> => ({
    host: 'localhost',
    authorization: `Bearer ${c.token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': VERSION } : {}),
  });
  const count = (status: number) => tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  /** One POST; `rpcId` is recorded as answered when the daemon answered it as JSON-RPC. */
  const post = async (body: object, sid?: string, rpcId?: string, trickle = false) => {
    tally.requests++;
    const text = JSON.stringify(body);
    const res = await request('http://localhost/mcp', {
      method: 'POST',
      dispatcher: c.dispatcher,
      headers: headers(sid),
      body: trickle ? Readable.from(trickled(text)) : text,
    });
    const answer = await res.body.text();
    count(res.statusCode);
    if (rpcId !== undefined && res.statusCode === 200 && answer.includes(`"id":"${rpcId}"`)) tally.answered.push(rpcId);
    return { status: res.statusCode, answer, sid: res.headers['mcp-session-id'] as string | undefined };
  };
  const open = async (): Promise<string | undefined> => {
    const rpcId = id();
    const init = { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'soak', version: '1' } };
    const res = await post({ jsonrpc: '2.0', id: rpcId, method: 'initialize', params: init }, undefined, rpcId);
    if (res.status !== 200 || !res.sid) return undefined;
    tally.sessions++;
    opened++;
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, res.sid);
    return res.sid;
  };

  let sid: string | undefined;
  let stream: { destroy(): void } | undefined;
  let opened = 0;
  let rotations = 0;
  const start = Date.now();
  /** Sessions spread over the run: when opening is slow, the next rotation comes sooner (never before a call). */
  const rotationDue = () => (Date.now() - start) / (c.deadline - start) >= opened / c.sessions;
  let step = 0;
  let inSession = 0;
  while (Date.now() < c.deadline && tally.requests < c.maxRequests) {
    try {
      if (sid !== undefined && inSession > 0 && rotationDue()) {
        stream?.destroy();
        stream = undefined;
        if (rotations++ % 2 === 0) {
          tally.requests++;
          const res = await request('http://localhost/mcp', {
            method: 'DELETE',
            dispatcher: c.dispatcher,
            headers: headers(sid),
          });
          await res.body.dump();
          count(res.statusCode);
          tally.deleted++;
        } else tally.abandoned++;
        sid = undefined;
      }
      if (sid === undefined) {
        sid = await open();
        inSession = 0;
        if (sid === undefined) {
          await sleep(100); // at a limit (429): every session busy; try again
          continue;
        }
        if (tally.sessions % 4 === 0) stream = await openStream(c, headers(sid), tally, count);
        continue;
      }
      step++;
      inSession++;
      if (step % 97 === 0) {
        await abortInBody(c, headers(sid));
        tally.requests++;
        tally.abortedInBody++;
        continue;
      }
      const rpcId = id();
      const call = (name: string, args: object = {}) => ({
        jsonrpc: '2.0',
        id: rpcId,
        method: 'tools/call',
        params: { name, arguments: args },
      });
      if (step % 89 === 0) {
        await abortWaiting(c, headers(sid), call('hang'), tally);
        continue;
      }
      const body =
        step % 10 === 0
          ? { jsonrpc: '2.0', id: rpcId, method: 'tools/list' }
          : step % 7 === 0
            ? call('write_note', { name: 'n', text: 'soak' })
            : call('echo', { message: `soak ${rpcId}` });
      const trickle = step % 50 === 0;
      const res = await post(body, sid, rpcId, trickle);
      if (trickle) tally.trickled++;
      if (res.answer.includes('"code":-32003')) tally.denied++;
      // The session ended under us (a killed child, eviction, the idle timeout): open another.
      if (res.status === 404 || res.answer.includes('session ended')) sid = undefined;
    } catch {
      tally.failures++;
      sid = undefined;
      await sleep(100);
    }
  }
  stream?.destroy();
  if (sid !== undefined) {
    tally.requests++;
    const res = await request('http://localhost/mcp', {
      method: 'DELETE',
      dispatcher: c.dispatcher,
      headers: headers(sid),
    });
    await res.body.dump();
    count(res.statusCode);
    tally.deleted++;
  }
}

/** A body that arrives in four pieces over ~0.6 s, as from a slow link. */
async function* trickled(text: string): AsyncGenerator<Buffer> {
  const quarter = Math.ceil(text.length / 4);
  for (let i = 0; i < text.length; i += quarter) {
    if (i > 0) await sleep(200);
    yield Buffer.from(text.slice(i, i + quarter));
  }
}

/** GET stream for server messages; kept open until the session is left (then destroyed, as a client that quits). */
async function openStream(
  c: SoakClient,
  headers: Record<string, string>,
  tally: Tally,
  count: (status: number) => void,
): Promise<{ destroy(): void } | undefined> {
  tally.requests++;
  const res = await request('http://localhost/mcp', {
    method: 'GET',
    dispatcher: c.dispatcher,
    headers: { ...headers, accept: 'text/event-stream' },
  });
  count(res.statusCode);
  if (res.statusCode !== 200) {
    await res.body.dump();
    return undefined;
  }
  tally.streams++;
  res.body.on('error', () => {});
  res.body.resume();
  return res.body;
}

/** Half a body, then the connection is dropped: the daemon never gets the rest. */
function abortInBody(c: SoakClient, headers: Record<string, string>): Promise<void> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 'cut', method: 'tools/call', params: { name: 'echo' } });
  return new Promise((resolve) => {
    const req = httpRequest({
      socketPath: c.socketPath,
      method: 'POST',
      path: '/mcp',
      headers: { ...headers, 'content-length': String(body.length) },
    });
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.write(body.slice(0, body.length >> 1), () => setTimeout(() => req.destroy(), 50));
  });
}

/** A call to the `hang` tool, given up after 150 ms: the daemon cancels it at the child and logs it. */
async function abortWaiting(c: SoakClient, headers: Record<string, string>, body: object, tally: Tally) {
  tally.requests++;
  tally.abortedWaiting++;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 150);
  try {
    const res = await request('http://localhost/mcp', {
      method: 'POST',
      dispatcher: c.dispatcher,
      headers,
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    await res.body.text();
  } catch {
    /* aborted, as meant */
  } finally {
    clearTimeout(timer);
  }
}
