import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatekitError } from '../lib/errors.js';
import { pollDeviceCode, type DevicePollAnswer, type PollClock } from '../lib/provider/index.js';

/** A clock that only moves when the loop sleeps; `slept` records each wait (ms). */
function mockClock(): PollClock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new GatekitError('INTERRUPTED', 'login interrupted');
      slept.push(ms);
      now += ms;
    },
  };
}

/** A token endpoint that gives `answers` in turn, then pending forever. */
function endpoint(answers: Array<DevicePollAnswer<string>>): () => Promise<DevicePollAnswer<string>> {
  return async () => answers.shift() ?? { pending: 'authorization_pending' };
}

describe('the shared device-flow poll loop (mocked clock)', () => {
  it('waits the interval before each poll; slow_down raises it by 5 s, or to the server-given one', async () => {
    const clock = mockClock();
    const tokens = await pollDeviceCode(
      endpoint([
        { pending: 'authorization_pending' },
        { pending: 'slow_down' },
        { pending: 'authorization_pending' },
        { pending: 'slow_down', interval: 11 },
        { done: 'tokens' },
      ]),
      { interval: 2, expiresIn: 900, clock },
    );
    assert.equal(tokens, 'tokens');
    assert.deepEqual(clock.slept, [2000, 2000, 7000, 7000, 11_000]);
  });

  it('without an interval from the server it waits 5 s; an unreachable endpoint backs off, capped at 60 s', async () => {
    const clock = mockClock();
    const unreachable = { unreachable: true } as const;
    await pollDeviceCode(endpoint([unreachable, unreachable, unreachable, unreachable, { done: 'x' }]), {
      expiresIn: 900,
      clock,
    });
    assert.deepEqual(clock.slept, [5000, 10_000, 20_000, 40_000, 60_000]);
  });

  it('expiry stops it with LOGIN_REQUIRED, without polling past the code’s life', async () => {
    const clock = mockClock();
    let polls = 0;
    const poll = async (): Promise<DevicePollAnswer<string>> => {
      polls++;
      return { pending: polls === 1 ? 'slow_down' : 'authorization_pending' };
    };
    await assert.rejects(
      pollDeviceCode(poll, { interval: 5, expiresIn: 30, clock }),
      (err: GatekitError) => err.code === 'LOGIN_REQUIRED' && /device code expired/.test(err.message),
    );
    assert.deepEqual(clock.slept, [5000, 10_000, 10_000, 10_000]);
    assert.equal(polls, 3, 'polled at 5, 15 and 25 s; the 35 s turn finds the code expired');
  });

  it('an abort stops it with INTERRUPTED, during a wait or during a poll that never answers', async () => {
    const clock = mockClock();
    const whileWaiting = new AbortController();
    let polls = 0;
    const poll = async (): Promise<DevicePollAnswer<string>> => {
      if (++polls === 2) whileWaiting.abort();
      return { pending: 'authorization_pending' };
    };
    await assert.rejects(
      pollDeviceCode(poll, { interval: 1, expiresIn: 900, signal: whileWaiting.signal, clock }),
      (err: GatekitError) => err.code === 'INTERRUPTED',
    );
    assert.equal(polls, 2, 'no poll after the abort');

    const whilePolling = new AbortController();
    const hung = pollDeviceCode(
      async () => {
        whilePolling.abort();
        return new Promise<DevicePollAnswer<string>>(() => {});
      },
      { interval: 1, expiresIn: 900, signal: whilePolling.signal, clock: mockClock() },
    );
    await assert.rejects(hung, (err: GatekitError) => err.code === 'INTERRUPTED');
  });

  it('an error the endpoint answers with ends the loop as it is', async () => {
    const denied = new GatekitError('LOGIN_REQUIRED', 'the login was denied');
    await assert.rejects(
      pollDeviceCode(
        async () => {
          throw denied;
        },
        { expiresIn: 900, clock: mockClock() },
      ),
      (err) => err === denied,
    );
  });
});
