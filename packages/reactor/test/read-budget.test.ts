import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import type { Connection, ConnectionHandler, Listener, Transport } from '@peerlink/stream';
import { describe, expect, test, vi } from 'vitest';

/**
 * A transport with one inbound connection whose test pushes chunks by hand and records the
 * reactor's pause and resume calls.
 */
function manualTransport() {
  const calls: string[] = [];
  let handler: ConnectionHandler | undefined;
  let paused = false;
  const conn: Connection = {
    remoteAddress: 'peer:1',
    localAddress: 'me:1',
    start: (h) => {
      handler = h;
    },
    write: () => true,
    pause: () => {
      paused = true;
      calls.push('pause');
    },
    resume: () => {
      paused = false;
      calls.push('resume');
    },
    end: () => {},
    reset: () => {},
    close: () => handler?.onClose(undefined),
  };
  let accept: ((c: Connection) => void) | undefined;
  const transport: Transport = {
    async listen(address, h): Promise<Listener> {
      accept = (c) => h.onConnection(c);
      return { address, close: async () => {} };
    },
    connect: () => Promise.reject(new Error('not here')),
  };
  return {
    transport,
    calls,
    open: () => accept!(conn),
    push: (chunk: Uint8Array) => handler!.onData(chunk),
    get paused() {
      return paused;
    },
  };
}

/** A reactor (1 MiB messages) listening on a {@link manualTransport} whose connection is open. */
async function openReactor(options: { readBudget?: number } = {}) {
  const t = manualTransport();
  const r = new Reactor({
    codec: lengthPrefixed({ maxSize: 1 << 20 }),
    transport: t.transport,
    ...options,
  });
  let count = 0;
  r.onEvent(
    () => {},
    () => {
      count++;
    },
  );
  await r.listen('me:1');
  t.open();
  return { t, r, got: () => count };
}

const frame = (n: number) => {
  const b = new Uint8Array(4 + n);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

describe('Reactor read budget (readBudget)', () => {
  test('a peer past its budget in a turn in which the node read 8 budgets pauses until the next turn, losing nothing', async () => {
    const { t, r, got } = await openReactor({ readBudget: 100_000 });
    // The budget applies once the node read more than 8 budgets (800,000 bytes) in the turn: a
    // lone peer below that is not paused. The turn is counted from the read that takes the
    // node's count to one budget (the second here: the first 60,004 bytes are not counted).
    for (let i = 0; i < 14; i++) t.push(frame(60_000));
    expect(t.paused).toBe(false); // 780,052 bytes counted this turn
    t.push(frame(60_000));
    expect(t.paused).toBe(true); // 840,056 bytes: the node's allowance and the peer's budget spent
    expect(got()).toBe(15); // the chunk that spent it was delivered whole
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.paused).toBe(false); // a new turn: reading again
    t.push(frame(60_000));
    t.push(frame(60_000));
    expect(t.paused).toBe(false); // the new turn's budget (and allowance)
    expect(t.calls).toEqual(['pause', 'resume']);
    await r.shutdown({ flushTimeout: 0 });
  });

  test('a lone peer reading as much as libuv reads a socket in one turn (32 × 64 KiB, exactly 8 default budgets) is not paused', async () => {
    const { t, r, got } = await openReactor();
    // 32 reads of 64 KiB: 16 frames of 131,068 bytes and 4 of prefix, two reads each.
    for (let turn = 0; turn < 3; turn++) {
      for (let i = 0; i < 16; i++) {
        const f = frame(131_068);
        t.push(f.subarray(0, 65_536));
        t.push(f.subarray(65_536));
      }
      expect(t.paused).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(got()).toBe(48);
    // Past the allowance in a turn, and the peer (past its own budget) pauses: the turn is counted
    // from its second frame (the node's count reaches one budget), so after 17 frames it has
    // counted exactly 2 MiB, and the 18th passes it.
    for (let i = 0; i < 17; i++) t.push(frame(131_068));
    expect(t.paused).toBe(false);
    t.push(frame(131_068));
    expect(t.paused).toBe(true);
    expect(t.calls).toEqual(['pause']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.calls).toEqual(['pause', 'resume']);
    await r.shutdown({ flushTimeout: 0 });
  });

  test('turns of small reads arm no setImmediate; the turn that brings the count to one budget does', async () => {
    const { t, r, got } = await openReactor();
    const spy = vi.spyOn(globalThis, 'setImmediate');
    try {
      // 100 turns of one 12-byte message each (a round trip's read): 1,600 bytes, no turn's end.
      for (let i = 0; i < 100; i++) {
        t.push(frame(12));
        await new Promise((resolve) => setTimeout(resolve, 0)); // the next turn
      }
      expect(got()).toBe(100);
      expect(spy).not.toHaveBeenCalled();
      t.push(frame(262_144)); // the node's count reaches one budget: this turn is measured
      expect(spy).toHaveBeenCalledTimes(1);
      t.push(frame(262_144));
      expect(spy).toHaveBeenCalledTimes(1); // once per turn
    } finally {
      spy.mockRestore();
    }
    await r.shutdown({ flushTimeout: 0 });
  });

  test('a peer paused for a full event queue is not resumed by the new turn', async () => {
    const t = manualTransport();
    const r = new Reactor({
      codec: lengthPrefixed({ maxSize: 1 << 20 }),
      transport: t.transport,
      readBudget: 10,
      eventCapacity: 1,
    });
    await r.listen('me:1');
    t.open(); // 'accepted' fills the queue (capacity 1, nobody reads)
    t.push(frame(100));
    expect(t.paused).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.paused).toBe(true); // still waiting for room in the event queue
    const events = r.events();
    await events.next(); // 'accepted'
    await events.next(); // the message
    expect(t.paused).toBe(false);
    await r.shutdown({ flushTimeout: 0 });
  });

  test('readBudget must be a positive integer or Infinity', () => {
    const t = manualTransport();
    const codec = lengthPrefixed({ maxSize: 100 });
    expect(() => new Reactor({ codec, transport: t.transport, readBudget: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
    new Reactor({ codec, transport: t.transport, readBudget: Number.POSITIVE_INFINITY }).shutdown();
  });
});
