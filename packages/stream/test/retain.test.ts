import { type Codec, lengthPrefixed } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { encodeAll } from './helpers.js';

/**
 * Feeds `wire` in chunks of the given sizes through ONE reused buffer, as a transport with a
 * shared read buffer does (each chunk overwrites the previous one's memory), and keeps every
 * delivered body. With `stopEvery`, the sink asks to stop after every n-th message and the
 * held-back input is resumed before the next chunk.
 */
function deliverThroughReusedBuffer(
  codec: Codec<Uint8Array>,
  wire: Uint8Array,
  sizes: number[],
  stopEvery = 0,
): Uint8Array[] {
  const stream = new MessageStream(codec);
  const shared = new Uint8Array(65536);
  const kept: Uint8Array[] = [];
  const sink = (m: Uint8Array) => {
    kept.push(m);
    return stopEvery === 0 || kept.length % stopEvery !== 0;
  };
  let at = 0;
  let i = 0;
  while (at < wire.length) {
    const n = Math.min(sizes[i++ % sizes.length]!, wire.length - at, shared.length);
    shared.set(wire.subarray(at, at + n));
    at += n;
    expect(stream.handleData(shared.subarray(0, n), sink, 0)).toBeUndefined();
    shared.fill(0xee); // the transport reuses its buffer
    while (stream.hasBufferedInput) expect(stream.resumeReceive(sink, 0)).toBeUndefined();
  }
  expect(stream.bufferedBytes).toBe(0);
  return kept;
}

describe('MessageStream with a codec whose messages view their input (raw lengthPrefixed)', () => {
  test('delivered bodies stay valid after the transport reuses its read buffer (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('u32be' as const, 'u32le' as const, 'varint' as const),
        fc.integer({ min: 0, max: 4 }),
        (bodies, sizes, prefix, stopEvery) => {
          const codec = lengthPrefixed({ maxSize: 4096, prefix });
          const { wire } = encodeAll(codec, bodies);
          const kept = deliverThroughReusedBuffer(codec, wire, sizes, stopEvery);
          expect(kept.map((b) => [...b])).toEqual(bodies.map((b) => [...b]));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a chunk of whole messages is copied once, not once per message', () => {
    const codec = lengthPrefixed({ maxSize: 2048, prefix: 'u32le' });
    const bodies = Array.from({ length: 60 }, (_, i) => new Uint8Array(1020).fill(i));
    const { wire } = encodeAll(codec, bodies);
    const stream = new MessageStream(codec);
    const buffers = new Set<ArrayBufferLike>();
    stream.handleData(
      wire,
      (m) => {
        buffers.add(m.buffer);
      },
      0,
    );
    // Every body is a view of the one copy of the chunk, not of the chunk itself.
    expect(buffers.size).toBe(1);
    expect(buffers.has(wire.buffer)).toBe(false);
  });

  test('delivered bodies stay intact after the stream fails and its buffers are dropped', () => {
    const codec = lengthPrefixed({ maxSize: 70_000, prefix: 'u32le' });
    const bodies = [new Uint8Array(100).fill(1), new Uint8Array(66_000).fill(2)];
    const { wire } = encodeAll(codec, bodies);
    const stream = new MessageStream(codec);
    const got: Uint8Array[] = [];
    const shared = new Uint8Array(65536);
    for (let at = 0; at < wire.length; at += 65536) {
      const n = Math.min(65536, wire.length - at);
      shared.set(wire.subarray(at, at + n));
      expect(stream.handleData(shared.subarray(0, n), (m) => void got.push(m), 0)).toBeUndefined();
      shared.fill(0xee);
    }
    // A frame above maxSize ends the stream; what was delivered is untouched.
    const error = stream.handleData(Uint8Array.of(0xff, 0xff, 0xff, 0x7f), () => {}, 0);
    expect(error?.code).toBe('ERR_MALFORMED_MESSAGE');
    shared.fill(0xdd);
    expect(got.map((b) => [b.length, b.every((x) => x === b[0]), b[0]])).toEqual([
      [100, true, 1],
      [66_000, true, 2],
    ]);
  });

  test('a chunk the caller owns is not copied at all', () => {
    const codec = lengthPrefixed({ maxSize: 2048, prefix: 'u32le' });
    const { wire } = encodeAll(codec, [new Uint8Array(100).fill(1), new Uint8Array(200).fill(2)]);
    const stream = new MessageStream(codec);
    const got: Uint8Array[] = [];
    stream.handleData(wire, (m) => void got.push(m), 0, true);
    expect(got.map((m) => m.buffer === wire.buffer)).toEqual([true, true]);
    expect(got.map((m) => m.length)).toEqual([100, 200]);
  });

  test('a large message split across chunks is assembled in its own buffer of its exact size', () => {
    const codec = lengthPrefixed({ maxSize: 1024 * 1024 + 4, prefix: 'u32le' });
    const body = new Uint8Array(1024 * 1024).map((_, i) => i * 7);
    const { wire } = encodeAll(codec, [body]);
    const stream = new MessageStream(codec);
    let got: Uint8Array | undefined;
    for (let at = 0; at < wire.length; at += 65536) {
      stream.handleData(
        wire.subarray(at, at + 65536),
        (m) => {
          got = m;
        },
        0,
      );
    }
    expect(got?.length).toBe(body.length);
    expect(got?.buffer.byteLength).toBe(body.length + 4); // prefix + body: no spare room
    expect(got?.every((b, i) => b === body[i])).toBe(true);
    expect(stream.rxCapacity).toBe(0); // the buffer went with the message
  });

  test('a declared length is reserved only in proportion to what has arrived of it', () => {
    const codec = lengthPrefixed({ maxSize: 16 * 1024 * 1024 });
    const stream = new MessageStream(codec);
    // Declares 0xfffff0 bytes of body (a 0xfffff4-byte frame, within the limit).
    expect(stream.handleData(Uint8Array.of(0x00, 0xff, 0xff, 0xf0), () => {}, 0)).toBeUndefined();
    expect(stream.rxCapacity).toBeLessThanOrEqual(4096);
    expect(stream.handleData(new Uint8Array(5000), () => {}, 0)).toBeUndefined();
    expect(stream.bufferedBytes).toBe(5004);
    expect(stream.rxCapacity).toBeLessThanOrEqual(16 * 5004 + 64);
    // The same over a chunk the caller owns: the tail is held where it is, nothing reserved.
    const owned = new MessageStream(codec);
    const chunk = Uint8Array.of(0x00, 0xff, 0xff, 0xf0, 1, 2, 3);
    expect(owned.handleData(chunk, () => {}, 0, true)).toBeUndefined();
    expect(owned.rxCapacity).toBe(chunk.length);
  });

  test('a frame whose first part makes its size plausible gets its exact buffer at once', () => {
    const codec = lengthPrefixed({ maxSize: 1024 * 1024 + 4 });
    const { wire } = encodeAll(codec, [new Uint8Array(1024 * 1024).fill(9)]);
    const stream = new MessageStream(codec);
    // 64 KiB of a 1 MiB frame: 16 × 64 KiB covers it.
    expect(stream.handleData(wire.slice(0, 65536), () => {}, 0)).toBeUndefined();
    expect(stream.rxCapacity).toBe(wire.length);
  });

  test('a split frame declared above the receive limit is refused on its declaration', () => {
    const codec = lengthPrefixed({ maxSize: 16 * 1024 * 1024 });
    const stream = new MessageStream(codec, { rxBufMaxBytes: 1024 * 1024 });
    // The prefix alone, then the prefix split across two chunks: refused before any body arrives.
    const error = stream.handleData(Uint8Array.of(0x00, 0x10, 0x00, 0x01), () => {}, 0);
    expect(error?.code).toBe('ERR_RX_LIMIT');
    expect(stream.rxCapacity).toBe(0);
    const split = new MessageStream(codec, { rxBufMaxBytes: 1024 * 1024 });
    expect(split.handleData(Uint8Array.of(0x00, 0x10), () => {}, 0)).toBeUndefined();
    expect(split.handleData(Uint8Array.of(0x00, 0x01), () => {}, 0)?.code).toBe('ERR_RX_LIMIT');
    expect(split.rxCapacity).toBe(0);
    // Exactly at the limit is allowed (and not reserved on the declaration alone).
    const edge = new MessageStream(codec, { rxBufMaxBytes: 1024 * 1024 });
    expect(edge.handleData(Uint8Array.of(0x00, 0x0f, 0xff, 0xfc, 1), () => {}, 0)).toBeUndefined();
    expect(edge.rxCapacity).toBeLessThanOrEqual(4096);
  });

  test('a frame above maxSize is ERR_MALFORMED_MESSAGE as soon as its prefix is read', () => {
    const codec = lengthPrefixed({ maxSize: 10 });
    const stream = new MessageStream(codec);
    expect(stream.handleData(Uint8Array.of(0, 0, 1, 0), () => {}, 0)?.code).toBe(
      'ERR_MALFORMED_MESSAGE',
    );
    const split = new MessageStream(codec);
    expect(split.handleData(Uint8Array.of(0, 0), () => {}, 0)).toBeUndefined();
    expect(split.handleData(Uint8Array.of(1, 0), () => {}, 0)?.code).toBe('ERR_MALFORMED_MESSAGE');
  });
});

/** The send queue's threshold for appending bytes by reference (`SendQueue`'s `SHARE_MIN`). */
const SHARE_MIN = 16384;

describe('MessageStream send with the raw lengthPrefixed codec', () => {
  test('a body of SHARE_MIN bytes or more goes out by reference, a smaller one is copied', () => {
    const codec = lengthPrefixed({ maxSize: 1 << 20 });
    const stream = new MessageStream(codec);
    const large = new Uint8Array(SHARE_MIN).fill(7);
    expect(stream.queue(large, 0)).toBe(true);
    const parts: Uint8Array[] = [];
    for (let b = stream.pollTransmit(0); b !== undefined; b = stream.pollTransmit(0)) parts.push(b);
    expect(parts.some((p) => p === large)).toBe(true);
    const small = new Uint8Array(SHARE_MIN - 1).fill(3);
    expect(stream.queue(small, 0)).toBe(true);
    const taken = stream.pollTransmit(0)!;
    expect(taken.buffer).not.toBe(small.buffer);
    small.fill(0); // reusing a small body at once is fine: it was copied
    expect(taken[taken.length - 1]).toBe(3);
  });
});
