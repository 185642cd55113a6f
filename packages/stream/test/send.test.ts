import { ByteSink, type Codec, lengthPrefixed, type PeerlinkError } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { concat, hintedPing, ping } from './helpers.js';

/** Raw length-prefixed frames of 100 bytes at most (u32 prefix + up to 96 body bytes). */
const hinted = lengthPrefixed({ maxSize: 100 });
/** The same codec without `sizeHint`. */
const unhinted: Codec<Uint8Array> = { maxSize: 100, encode: hinted.encode, decode: hinted.decode };
const frame = (size: number) => new Uint8Array(size - 4);

function caught(fn: () => unknown): PeerlinkError {
  try {
    fn();
  } catch (error) {
    return error as PeerlinkError;
  }
  throw new Error('did not throw');
}

describe('MessageStream send: admission', () => {
  // txLimit = 2 × 100 = 200 bytes with the byte floor off.
  const config = { txBufMaxFloor: 0 };

  test('with a size hint, admits a message that exactly fills `txBufMaxSize`', () => {
    const stream = new MessageStream(hinted, config);
    expect(stream.config.txLimit).toBe(200);
    expect(stream.queue(frame(100), 0)).toBe(true);
    expect(stream.queue(frame(99), 0)).toBe(true);
    expect(stream.freeBytes).toBe(1);
    expect(stream.queue(frame(5), 0)).toBe(false);
    expect(stream.queuedBytes).toBe(199);
  });

  test('with a size hint, refuses a message one byte over `txBufMaxSize` and queues nothing', () => {
    const stream = new MessageStream(hinted, config);
    stream.queue(frame(100), 0);
    stream.queue(frame(95), 0);
    expect(stream.freeBytes).toBe(5);
    expect(stream.queue(frame(6), 0)).toBe(false);
    expect(stream.queuedBytes).toBe(195);
    expect(stream.queue(frame(5), 0)).toBe(true);
    expect(stream.queuedBytes).toBe(200);
  });

  test('without a size hint, admits any message while the buffer is below `txBufMaxSize`', () => {
    const stream = new MessageStream(unhinted, config);
    expect(stream.queue(frame(100), 0)).toBe(true);
    expect(stream.queue(frame(99), 0)).toBe(true);
    expect(stream.queuedBytes).toBe(199);
    expect(stream.queue(frame(100), 0)).toBe(true); // 199 < 200: admitted, overshoots
    expect(stream.queuedBytes).toBe(299);
    expect(stream.queue(frame(5), 0)).toBe(false);
  });

  test('without a size hint, refuses once the buffer holds exactly `txBufMaxSize`', () => {
    const stream = new MessageStream(unhinted, config);
    stream.queue(frame(100), 0);
    stream.queue(frame(100), 0);
    expect(stream.queue(frame(5), 0)).toBe(false);
    expect(stream.queuedBytes).toBe(200);
  });

  test('bytes handed to the transport no longer count against the limit', () => {
    const stream = new MessageStream(hinted, config);
    stream.queue(frame(100), 0);
    stream.queue(frame(100), 0);
    expect(stream.queue(frame(5), 0)).toBe(false);
    stream.pollTransmit(0);
    expect(stream.freeBytes).toBe(200);
    expect(stream.queue(frame(5), 0)).toBe(true);
  });

  test('`txBufMaxFloor` (64 KiB by default) lifts the limit of a tiny codec', () => {
    const stream = new MessageStream(hintedPing);
    expect(stream.config.txLimit).toBe(65536);
    for (let i = 0; i < 8192; i++) expect(stream.queue(BigInt(i), 0)).toBe(true);
    expect(stream.queue(0n, 0)).toBe(false);
    expect(stream.queuedBytes).toBe(65536);
  });

  test('`txBufMaxSize` × `maxSize` wins over `txBufMaxFloor` when larger', () => {
    const codec = lengthPrefixed({ maxSize: 100_000 });
    expect(new MessageStream(codec).config.txLimit).toBe(200_000);
    expect(new MessageStream(codec, { txBufMaxFloor: 500_000 }).config.txLimit).toBe(500_000);
  });
});

describe('MessageStream send: codec failures', () => {
  test('a size hint above `maxSize` throws ERR_MESSAGE_TOO_LARGE', () => {
    const stream = new MessageStream<Uint8Array>({ ...hinted, sizeHint: () => 101 });
    expect(caught(() => stream.queue(frame(10), 0)).code).toBe('ERR_MESSAGE_TOO_LARGE');
    expect(stream.queuedBytes).toBe(0);
  });

  test('an encoding above `maxSize` throws ERR_MESSAGE_TOO_LARGE and leaves the buffer as it was', () => {
    const stream = new MessageStream(unhinted);
    stream.queue(frame(10), 0);
    expect(caught(() => stream.queue(frame(101), 0)).code).toBe('ERR_MESSAGE_TOO_LARGE');
    expect(stream.queuedBytes).toBe(10);
    expect(stream.pollTransmit(0)?.length).toBe(10);
  });

  test('an encode that throws is ERR_ENCODE_FAILURE with the cause, and the buffer is left as it was', () => {
    const boom = new Error('boom');
    const codec: Codec<number> = {
      maxSize: 100,
      encode: (m, sink) => {
        sink.writeU32BE(m);
        if (m === 13) throw boom;
        return 4;
      },
      decode: () => ({ kind: 'incomplete' }),
    };
    const stream = new MessageStream(codec);
    stream.queue(1, 0);
    const error = caught(() => stream.queue(13, 0));
    expect(error.code).toBe('ERR_ENCODE_FAILURE');
    expect(error.cause).toBe(boom);
    expect(stream.queuedBytes).toBe(4);
    expect([...stream.pollTransmit(0)!]).toEqual([0, 0, 0, 1]);
  });

  test('an encode that misreports the bytes it wrote is ERR_ENCODE_FAILURE', () => {
    const stream = new MessageStream<Uint8Array>({
      ...unhinted,
      encode: (m, s) => hinted.encode(m, s) + 1,
    });
    expect(caught(() => stream.queue(frame(10), 0)).code).toBe('ERR_ENCODE_FAILURE');
    expect(stream.queuedBytes).toBe(0);
  });

  test('a size hint that throws or is not a non-negative integer is ERR_ENCODE_FAILURE', () => {
    const boom = new Error('boom');
    const throwing = new MessageStream<Uint8Array>({
      ...hinted,
      sizeHint: () => {
        throw boom;
      },
    });
    const error = caught(() => throwing.queue(frame(10), 0));
    expect(error.code).toBe('ERR_ENCODE_FAILURE');
    expect(error.cause).toBe(boom);
    for (const bad of [Number.NaN, -1, 1.5]) {
      const stream = new MessageStream<Uint8Array>({ ...hinted, sizeHint: () => bad });
      expect(caught(() => stream.queue(frame(10), 0)).code).toBe('ERR_ENCODE_FAILURE');
      expect(stream.queuedBytes).toBe(0);
    }
  });
});

describe('MessageStream send: the bytes on the wire', () => {
  test('any interleaving of `queue` and `pollTransmit` hands out exactly the encoded bytes, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 96 }), fc.constant('poll' as const)), {
          maxLength: 300,
        }),
        fc.integer({ min: 1, max: 300 }),
        (ops, txBufMinSize) => {
          const stream = new MessageStream(hinted, { txBufMinSize: Math.min(txBufMinSize, 200) });
          const expected = new ByteSink();
          const wire: Uint8Array[] = [];
          const copies: number[][] = [];
          for (const op of ops) {
            if (op === 'poll') {
              const bytes = stream.pollTransmit(0);
              if (bytes !== undefined) {
                wire.push(bytes);
                copies.push([...bytes]);
              }
            } else if (stream.queue(op, 0)) {
              hinted.encode(op, expected);
            }
          }
          for (let rest = stream.pollTransmit(0); rest !== undefined; ) {
            wire.push(rest);
            copies.push([...rest]);
            rest = stream.pollTransmit(0);
          }
          expect(concat(wire)).toEqual(expected.peek());
          // A view handed to the transport is never written again.
          expect(wire.map((w) => [...w])).toEqual(copies);
          expect(stream.hasQueuedData).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('batches of one size come out as one view each, not split across slabs', () => {
    const stream = new MessageStream(lengthPrefixed({ maxSize: 2048 }), { txBufMaxFloor: 65_536 });
    const message = new Uint8Array(1020); // 1,024 bytes with the prefix
    for (let round = 0; round < 5; round++) {
      let queued = 0;
      while (stream.queue(message, 0)) queued++;
      expect(queued).toBe(64);
      const views: number[] = [];
      for (let b = stream.pollTransmit(0); b !== undefined; b = stream.pollTransmit(0)) {
        views.push(b.length);
      }
      // The first round grows the slab from `txBufMinSize`; every later one fits a fresh slab.
      if (round > 0) expect(views).toEqual([65_536]);
      else expect(views.reduce((a, b) => a + b, 0)).toBe(65_536);
    }
  });

  test('`pollTransmit` answers undefined when nothing is queued', () => {
    const stream = new MessageStream(ping);
    expect(stream.hasQueuedData).toBe(false);
    expect(stream.pollTransmit(0)).toBeUndefined();
    stream.queue(1n, 0);
    expect(stream.hasQueuedData).toBe(true);
    stream.pollTransmit(0);
    expect(stream.pollTransmit(0)).toBeUndefined();
  });

  test('`oldestQueued` is the time the oldest unsent message was queued', () => {
    const stream = new MessageStream(ping);
    expect(stream.oldestQueued).toBeUndefined();
    stream.queue(1n, 10);
    stream.queue(2n, 20);
    expect(stream.oldestQueued).toBe(10);
    stream.pollTransmit(30);
    expect(stream.oldestQueued).toBeUndefined();
  });
});

describe('MessageStream send: write staleness (`txTimeout`)', () => {
  test('queued data that never leaves is stale only after `txTimeout`', () => {
    const stream = new MessageStream(ping, { txTimeout: 30_000 });
    stream.queue(1n, 1000);
    expect(stream.isWriteStale(31_000)).toBe(false);
    expect(stream.isWriteStale(31_001)).toBe(true);
  });

  test('a transport blocked longer than `txTimeout` without progress is stale', () => {
    const stream = new MessageStream(ping, { txTimeout: 30_000 });
    stream.queue(1n, 0);
    stream.pollTransmit(0); // handed over, then the transport says "no more"
    stream.handleBlocked(0);
    expect(stream.isBlocked).toBe(true);
    expect(stream.hasQueuedData).toBe(false);
    expect(stream.isWriteStale(30_000)).toBe(false);
    expect(stream.isWriteStale(30_001)).toBe(true);
  });

  test('a drain counts as progress and resets the clock', () => {
    const stream = new MessageStream(ping, { txTimeout: 30_000 });
    stream.queue(1n, 0);
    stream.pollTransmit(0);
    stream.handleBlocked(0);
    stream.queue(2n, 10_000); // waits behind the blocked transport
    stream.handleDrain(20_000);
    expect(stream.isBlocked).toBe(false);
    expect(stream.isWriteStale(45_000)).toBe(false);
    expect(stream.isWriteStale(50_000)).toBe(false);
    expect(stream.isWriteStale(50_001)).toBe(true); // queued at 10 000, no progress since 20 000
  });

  test('handing bytes to the transport counts as progress', () => {
    const stream = new MessageStream(ping, { txTimeout: 1000 });
    stream.queue(1n, 0);
    stream.queue(2n, 0);
    stream.pollTransmit(900);
    stream.queue(3n, 950);
    expect(stream.isWriteStale(1500)).toBe(false);
    expect(stream.isWriteStale(1951)).toBe(true);
  });

  test('a later `handleBlocked` keeps the time the transport first blocked', () => {
    const stream = new MessageStream(ping, { txTimeout: 1000 });
    stream.handleBlocked(0);
    stream.handleBlocked(900);
    expect(stream.isWriteStale(1001)).toBe(true);
  });

  test('a stream with nothing queued and an unblocked transport is never stale', () => {
    const stream = new MessageStream(ping, { txTimeout: 1000 });
    expect(stream.isWriteStale(1e12)).toBe(false);
    stream.queue(1n, 0);
    stream.pollTransmit(0);
    expect(stream.isWriteStale(1e12)).toBe(false);
  });
});
