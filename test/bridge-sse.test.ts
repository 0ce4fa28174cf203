import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { holdEventStream, sseEvents, type SseEvent } from '../lib/bridge/index.js';
import { isGatekitError } from '../lib/errors.js';

/** The body as the network hands it over: exactly these chunks, in this order. */
async function* chunks(...parts: Array<string | Buffer>): AsyncGenerator<Buffer> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

async function read(body: AsyncIterable<Buffer>, maxChars?: number): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(body, maxChars)) events.push(event);
  return events;
}

describe("the bridge reads the daemon's event stream", () => {
  it('a CRLF split across two chunks ends a line, not the event', async () => {
    const events = await read(chunks('event: message\r\ndata: {"a":\r', '\ndata: 1}\r\n\r\n'));
    assert.deepEqual(
      events.map((e) => e.data),
      ['{"a":\n1}'],
    );
  });

  it('a CR split from its LF before the blank line dispatches one event, not two', async () => {
    const events = await read(chunks('data: one\r\n\r', '\ndata: two\r\n\r\n'));
    assert.deepEqual(
      events.map((e) => e.data),
      ['one', 'two'],
    );
  });

  it('keeps the id and the event type of each event', async () => {
    const events = await read(chunks('id: 41\nevent: message\ndata: {"x":1}\n\n', 'id: 42\r\ndata: {"x":2}\r\n\r\n'));
    assert.deepEqual(
      events.map((e) => [e.id, e.data]),
      [
        ['41', '{"x":1}'],
        ['42', '{"x":2}'],
      ],
    );
    assert.equal(events[0]!.event, 'message');
  });

  it('joins UTF-8 split inside a character, skips comments and retry, drops an event cut off by the end', async () => {
    const euro = Buffer.from('data: €\n\n', 'utf8');
    const events = await read(chunks(': keep-alive\nretry: 10\n', euro.subarray(0, 8), euro.subarray(8), 'data: cut'));
    assert.deepEqual(
      events.map((e) => e.data),
      ['€'],
    );
  });

  it('refuses a hostile stream that never ends its line: DAEMON_UNREACHABLE, without buffering it all', async () => {
    let fed = 0;
    async function* runaway(): AsyncGenerator<Buffer> {
      yield Buffer.from('data: ok\n\n');
      for (let i = 0; i < 100; i++) {
        fed++;
        yield Buffer.from(`data: ${'x'.repeat(1000)}`);
      }
    }
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const e of sseEvents(runaway(), 10_000)) seen.push(e.data);
      },
      (err) => isGatekitError(err, 'DAEMON_UNREACHABLE'),
    );
    assert.deepEqual(seen, ['ok'], 'the events before it were delivered');
    assert.ok(fed < 20, `read ${fed} chunks before refusing`);
  });

  it('reopens a dropped GET stream with Last-Event-ID of the last event; a hostile id is not sent back', async (t) => {
    // Each GET gets one event and the stream ends, as when a connection drops; the ids are the server's.
    const ids = ['7', 'bad\u00e9id', 'x'.repeat(2000), '8'];
    const seen: Array<IncomingHttpHeaders['last-event-id']> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers['last-event-id']);
      const id = ids[seen.length - 1];
      res.writeHead(id === undefined ? 404 : 200, { 'content-type': 'text/event-stream' });
      res.end(id === undefined ? '' : `id: ${id}\ndata: {"n":${seen.length}}\n\n`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const dispatcher = new Agent();
    t.after(async () => {
      await dispatcher.close();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const controller = new AbortController();
    t.after(() => controller.abort());
    const delivered: string[] = [];
    const stopped = new Promise<void>((resolve) => {
      holdEventStream(
        async (headers, signal) => {
          const res = await request(url, { headers, signal, dispatcher });
          if (res.statusCode === 404) setImmediate(resolve);
          return { status: res.statusCode, headers: res.headers, body: res.body };
        },
        (data) => delivered.push(data),
        controller.signal,
      );
    });
    await stopped;
    assert.deepEqual(delivered, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
    assert.deepEqual(seen, [undefined, '7', undefined, undefined, '8']);
  });
});
