import { type Codec, lengthPrefixed, type PeerlinkError } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SHARE_MIN } from '../src/send-queue.js';

// The fused send path (a codec with `sizeHint` and `encodeAt`: one reservation, no report to
// check) and the reuse of send slabs (`pollTransmit(now, true)` + `releaseTransmitted`).

const raw = lengthPrefixed({ maxSize: 1 << 20, prefix: 'u32le' });

function caught(fn: () => unknown): PeerlinkError {
  try {
    fn();
  } catch (error) {
    return error as PeerlinkError;
  }
  throw new Error('did not throw');
}

function drain(stream: MessageStream<unknown>, release = false): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (
    let b = stream.pollTransmit(0, release);
    b !== undefined;
    b = stream.pollTransmit(0, release)
  ) {
    out.push(b.slice());
    if (release) stream.releaseTransmitted(b);
  }
  return out;
}

function decodeAll(wire: Uint8Array[]): Uint8Array[] {
  const got: Uint8Array[] = [];
  const rx = new MessageStream(raw);
  for (const chunk of wire) rx.handleData(chunk, (m) => void got.push(m.slice()), 0);
  return got;
}

describe('MessageStream fused send path (`encodeAt`)', () => {
  test('frames queued through `encodeAt` and `encode` (bodies from 16 KiB) decode to the same messages, in order, with slabs reused or not', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }) },
            {
              weight: 1,
              arbitrary: fc
                .integer({ min: SHARE_MIN - 5, max: SHARE_MIN + 5 })
                .map((n) => new Uint8Array(n).fill(n & 0xff)),
            },
          ),
          { maxLength: 30 },
        ),
        fc.boolean(),
        fc.integer({ min: 1, max: 7 }),
        (messages, release, every) => {
          const stream = new MessageStream(raw, { txBufMinSize: 64 });
          const wire: Uint8Array[] = [];
          messages.forEach((m, i) => {
            expect(stream.queue(m, 0)).toBe(true);
            if (i % every === 0) wire.push(...drain(stream, release));
          });
          wire.push(...drain(stream, release));
          const got = decodeAll(wire);
          expect(got.length).toBe(messages.length);
          for (let i = 0; i < got.length; i++) expect(sameBytes(got[i]!, messages[i]!)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a codec whose `encodeAt` throws: `ERR_ENCODE_FAILURE`, the buffer left as it was', () => {
    const codec: Codec<Uint8Array> = {
      ...raw,
      encodeAt: () => {
        throw new Error('boom');
      },
    };
    const stream = new MessageStream(codec);
    const error = caught(() => stream.queue(new Uint8Array(3), 0));
    expect(error.code).toBe('ERR_ENCODE_FAILURE');
    expect(stream.queuedBytes).toBe(0);
    expect(stream.hasQueuedData).toBe(false);
  });

  test('a `sizeHint` that disagrees with `encodeAt` is an encode failure, never a frame of the wrong size', () => {
    const stream = new MessageStream<Uint8Array>({ ...raw, sizeHint: (m) => m.length + 6 });
    expect(caught(() => stream.queue(new Uint8Array(3), 0)).code).toBe('ERR_ENCODE_FAILURE');
    expect(stream.queuedBytes).toBe(0);
  });

  test('`queue` from inside `encodeAt` is refused with `ERR_REENTRANT_QUEUE`', () => {
    let stream: MessageStream<Uint8Array>;
    let inner: unknown;
    const codec: Codec<Uint8Array> = {
      ...raw,
      encodeAt(message, bytes, offset, size) {
        inner = caught(() => stream.queue(new Uint8Array(1), 0));
        raw.encodeAt!(message, bytes, offset, size);
      },
    };
    stream = new MessageStream(codec);
    expect(stream.queue(new Uint8Array([1, 2]), 0)).toBe(true);
    expect((inner as PeerlinkError).code).toBe('ERR_REENTRANT_QUEUE');
    expect(decodeAll(drain(stream))).toEqual([new Uint8Array([1, 2])]);
  });

  test('a body of 16 KiB or more is not copied: it goes out by reference through `encode`', () => {
    const body = new Uint8Array(SHARE_MIN).fill(9);
    const stream = new MessageStream(raw);
    stream.queue(body, 0);
    const parts: Uint8Array[] = [];
    for (let b = stream.pollTransmit(0); b !== undefined; b = stream.pollTransmit(0)) parts.push(b);
    expect(parts.some((p) => p.buffer === body.buffer)).toBe(true);
  });
});

describe('MessageStream send slab reuse', () => {
  test('a stream that sends as it goes, with each write released, writes into one slab', () => {
    const stream = new MessageStream(raw);
    const memory = new Set<ArrayBufferLike>();
    for (let i = 0; i < 10_000; i++) {
      stream.queue(new Uint8Array([i & 0xff, 1, 2]), 0);
      const b = stream.pollTransmit(0, true)!;
      memory.add(b.buffer);
      stream.releaseTransmitted(b);
    }
    expect(memory.size).toBe(1);
  });

  test('a flood whose writes are released reuses its full slabs instead of allocating', () => {
    const stream = new MessageStream(raw);
    const memory = new Set<ArrayBufferLike>();
    const body = new Uint8Array(1020);
    for (let i = 0; i < 2000; i++) {
      if (!stream.queue(body, 0)) {
        for (
          let b = stream.pollTransmit(0, true);
          b !== undefined;
          b = stream.pollTransmit(0, true)
        ) {
          memory.add(b.buffer);
          stream.releaseTransmitted(b);
        }
        stream.queue(body, 0);
      }
    }
    // 2 MiB went through 64 KiB slabs: without reuse, 32 of them.
    expect(memory.size).toBeLessThanOrEqual(2);
  });

  test('bytes taken without `willRelease` are never written again', () => {
    const stream = new MessageStream(raw);
    stream.queue(new Uint8Array([1, 2, 3]), 0);
    const kept = stream.pollTransmit(0)!;
    const copy = kept.slice();
    stream.releaseTransmitted(kept); // ignored in effect: the slab stays pinned
    for (let i = 0; i < 5000; i++) {
      stream.queue(new Uint8Array([9, 9, 9, 9]), 0);
      const b = stream.pollTransmit(0, true)!;
      stream.releaseTransmitted(b);
    }
    expect(kept).toEqual(copy);
  });
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
