import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sseEvents, type SseEvent } from '../lib/bridge/index.js';
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
});
