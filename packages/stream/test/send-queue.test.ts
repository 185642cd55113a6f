import { type BodyCodec, type LengthPrefix, lengthPrefixed } from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SendQueue, SHARE_MIN } from '../src/send-queue.js';

// The stream's send queue: the segmented writer that codecs encode into inside a MessageStream.
// (The writers it inherits are tested with the codec package's plain ByteSink.)

const PREFIXES: LengthPrefix[] = ['u32be', 'u32le', 'varint'];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('SendQueue buffer management', () => {
  test('`writeUtf8` round-trips any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const sink = new SendQueue({ initialCapacity: 1 });
        sink.writeU8(7);
        sink.writeUtf8(text);
        expect(new TextDecoder().decode(sink.peek().subarray(1))).toBe(text);
      }),
    );
  });

  test('a taken view is never written again, whatever is written after it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 64 }),
        (writes, initialCapacity) => {
          const sink = new SendQueue({ initialCapacity, slabSize: 512 });
          const taken: [Uint8Array, number[]][] = [];
          for (const bytes of writes) {
            sink.writeU32BE(bytes.length);
            sink.writeBytes(bytes);
            const view = sink.take();
            taken.push([view, [...view]]);
            expect(sink.size).toBe(0);
          }
          for (const [view, copy] of taken) expect([...view]).toEqual(copy);
        },
      ),
    );
  });

  test('every writer lands its bytes when it grows a sink whose `head` is past 0', () => {
    // Regression: writers once captured the old DataView before `reserve` replaced it.
    const sink = new SendQueue({ initialCapacity: 8, slabSize: 8 });
    sink.writeU32BE(1);
    sink.writeU16BE(2);
    sink.take();
    sink.writeU32BE(0x01020304);
    sink.writeU16LE(0x0506);
    sink.writeU64BE(0x0708090a0b0c0d0en);
    sink.writeU32LE(0x0f101112);
    expect([...sink.take()]).toEqual([
      1, 2, 3, 4, 6, 5, 7, 8, 9, 10, 11, 12, 13, 14, 0x12, 0x11, 0x10, 0x0f,
    ]);
  });

  test('`take` hands out the held bytes and an empty view when nothing is held', () => {
    const sink = new SendQueue();
    expect(sink.take().length).toBe(0);
    sink.writeU8(9);
    expect([...sink.take()]).toEqual([9]);
    expect(sink.take().length).toBe(0);
  });

  test('`truncate` drops the last bytes but never taken ones', () => {
    const sink = new SendQueue();
    sink.writeBytes(Uint8Array.of(1, 2));
    sink.take();
    sink.writeBytes(Uint8Array.of(3, 4, 5));
    sink.truncate(2);
    expect([...sink.peek()]).toEqual([3]);
    sink.truncate(10);
    expect(sink.size).toBe(0);
  });

  test('`resize` keeps the held bytes and `resize(0)` on an empty sink releases its memory', () => {
    const sink = new SendQueue({ initialCapacity: 16 });
    sink.writeBytes(Uint8Array.of(1, 2, 3));
    sink.resize(100);
    expect(sink.capacity).toBe(100);
    expect([...sink.peek()]).toEqual([1, 2, 3]);
    sink.resize(1);
    expect(sink.capacity).toBe(3);
    sink.take();
    sink.resize(0);
    expect(sink.capacity).toBe(0);
  });

  test('growth doubles from `initialCapacity` up to `slabSize`, then doubles what is held', () => {
    const sink = new SendQueue({ initialCapacity: 4, slabSize: 16 });
    expect(sink.capacity).toBe(0);
    sink.writeU8(1);
    expect(sink.capacity).toBe(4);
    sink.writeU32BE(1);
    expect(sink.capacity).toBe(8);
    sink.writeBytes(new Uint8Array(8));
    expect(sink.capacity).toBe(16);
    sink.writeBytes(new Uint8Array(20)); // 33 needed, 26 = twice what was held
    expect(sink.capacity).toBe(33);
    sink.writeU8(1); // 34 needed, 66 = twice what is held
    expect(sink.capacity).toBe(66);
  });

  test('a fresh buffer after everything was taken is at most `slabSize`', () => {
    const sink = new SendQueue({ initialCapacity: 4, slabSize: 16 });
    sink.writeBytes(new Uint8Array(100));
    expect(sink.capacity).toBe(100);
    sink.take();
    sink.writeU8(1);
    expect(sink.capacity).toBe(16);
  });

  test('many small writes past `slabSize` reallocate only a logarithmic number of times', () => {
    const sink = new SendQueue({ initialCapacity: 16, slabSize: 64 });
    let reallocations = 0;
    let buffer = sink.buffer;
    for (let i = 0; i < 100_000; i++) {
      sink.writeU32BE(i);
      if (sink.buffer !== buffer) {
        reallocations++;
        buffer = sink.buffer;
      }
    }
    expect(sink.size).toBe(400_000);
    expect(reallocations).toBeLessThan(30);
  });
});

/** Takes every held segment, in order. */
function takeAll(sink: SendQueue): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (sink.size > 0) {
    const segments = sink.segments;
    out.push(sink.take());
    expect(sink.segments).toBe(segments - 1);
  }
  expect(sink.segments).toBe(0);
  return out;
}

function concatAll(parts: Uint8Array[]): number[] {
  return parts.flatMap((part) => [...part]);
}

describe('SendQueue segments: marks, shared bytes, patches', () => {
  test('growing a marked sink keeps the messages before the mark in place: no copy of them', () => {
    const sink = new SendQueue({ initialCapacity: 16, slabSize: 16 });
    sink.mark();
    sink.writeBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    const first = sink.buffer;
    sink.mark();
    sink.writeU32BE(0x0b0c0d0e); // fits
    sink.writeBytes(Uint8Array.of(15, 16, 17)); // grows: only this message (7 bytes) moves
    expect(sink.buffer).not.toBe(first);
    expect(sink.size).toBe(17);
    expect(sink.segments).toBe(2);
    const [a, b] = takeAll(sink);
    expect(a!.buffer).toBe(first.buffer); // a view of the first slab, never copied
    expect([...a!]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...b!]).toEqual([11, 12, 13, 14, 15, 16, 17]);
  });

  test('an unmarked sink stays contiguous', () => {
    const sink = new SendQueue({ initialCapacity: 4, slabSize: 8 });
    for (let i = 0; i < 40; i++) sink.writeU8(i);
    expect(sink.segments).toBe(1);
    expect([...sink.peek()]).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  test('`writeShared` appends large bytes by reference and copies small ones', () => {
    const sink = new SendQueue();
    const large = new Uint8Array(SHARE_MIN).fill(7);
    const small = new Uint8Array(SHARE_MIN - 1).fill(8);
    sink.writeU8(1);
    expect(sink.writeShared(large)).toBe(SHARE_MIN);
    sink.writeU8(2);
    expect(sink.writeShared(small)).toBe(SHARE_MIN - 1);
    expect(sink.size).toBe(2 * SHARE_MIN + 1);
    const parts = takeAll(sink);
    expect(parts.length).toBe(3);
    expect([...parts[0]!]).toEqual([1]);
    expect(parts[1]).toBe(large); // the caller's own view
    expect(parts[2]!.length).toBe(SHARE_MIN); // 2 and the copy of `small`
    expect(parts[2]![0]).toBe(2);
    expect(parts[2]!.buffer).not.toBe(small.buffer);
  });

  test('`truncate` undoes writes across segments, shared ones included', () => {
    const sink = new SendQueue({ initialCapacity: 8, slabSize: 8 });
    sink.writeU32BE(0x01020304);
    sink.take();
    sink.mark();
    sink.writeU32BE(0x05060708);
    sink.mark();
    sink.writeU16BE(0x090a);
    sink.writeShared(new Uint8Array(SHARE_MIN));
    sink.writeU8(11);
    sink.truncate(SHARE_MIN + 3);
    expect(sink.size).toBe(4);
    sink.writeU8(12);
    expect(concatAll(takeAll(sink))).toEqual([5, 6, 7, 8, 12]);
  });

  test('`patchU32` reaches a byte by its index whatever happened since', () => {
    const sink = new SendQueue({ initialCapacity: 8, slabSize: 8 });
    sink.mark();
    sink.writeU16BE(0xaaaa);
    const at = sink.size;
    sink.writeU32BE(0);
    sink.writeShared(new Uint8Array(SHARE_MIN));
    sink.writeBytes(new Uint8Array(20));
    sink.patchU32(at, 0x01020304);
    sink.patchU32(sink.size - 4, 0x05060708, true);
    const bytes = concatAll(takeAll(sink));
    expect(bytes.slice(0, 6)).toEqual([0xaa, 0xaa, 1, 2, 3, 4]);
    expect(bytes.slice(-4)).toEqual([8, 7, 6, 5]);
    expect(codeOf(() => sink.patchU32(0, 1))).toBe('ERR_INVALID_ARGUMENT');
    sink.writeU32BE(0);
    expect(codeOf(() => sink.patchU32(1, 1))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => sink.patchU32(0, 2 ** 32))).toBe('ERR_INVALID_ARGUMENT');
  });

  test('`clear` forgets everything held', () => {
    const sink = new SendQueue({ initialCapacity: 4, slabSize: 4 });
    sink.mark();
    sink.writeU32BE(1);
    sink.mark();
    sink.writeU32BE(2);
    sink.writeShared(new Uint8Array(SHARE_MIN));
    sink.clear();
    expect(sink.size).toBe(0);
    expect(sink.segments).toBe(0);
    sink.writeU8(3);
    expect(concatAll(takeAll(sink))).toEqual([3]);
  });

  test('any mix of marks, writes, shared writes, truncates and takes hands out exactly the bytes kept, in order, never rewritten', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), bytes: fc.uint8Array({ maxLength: 90 }) }),
      fc.record({
        kind: fc.constant('shared' as const),
        size: fc.integer({ min: SHARE_MIN - 2, max: SHARE_MIN + 2 }),
        fill: fc.integer({ min: 0, max: 255 }),
      }),
      fc.constant({ kind: 'mark' as const }),
      fc.record({ kind: fc.constant('truncate' as const), n: fc.integer({ min: 0, max: 40 }) }),
      fc.constant({ kind: 'take' as const }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 1, max: 64 }),
        (ops, initialCapacity) => {
          const sink = new SendQueue({ initialCapacity, slabSize: 128 });
          const model: number[] = []; // held bytes
          const taken: [Uint8Array, number[]][] = [];
          for (const o of ops) {
            if (o.kind === 'write') {
              sink.writeBytes(o.bytes);
              model.push(...o.bytes);
            } else if (o.kind === 'shared') {
              sink.writeShared(new Uint8Array(o.size).fill(o.fill));
              for (let i = 0; i < o.size; i++) model.push(o.fill);
            } else if (o.kind === 'mark') {
              sink.mark();
            } else if (o.kind === 'truncate') {
              sink.truncate(o.n);
              model.length = Math.max(0, model.length - o.n);
            } else {
              const view = sink.take();
              taken.push([view, [...view]]);
              expect([...view]).toEqual(model.slice(0, view.length));
              model.splice(0, view.length);
            }
            expect(sink.size).toBe(model.length);
          }
          const rest = concatAll(takeAll(sink));
          expect(rest).toEqual(model);
          for (const [view, copy] of taken) expect([...view]).toEqual(copy);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SendQueue slab reuse (`take(true)` and `release`)', () => {
  test('a slab whose views all came back is written over from its start: one slab, no allocation', () => {
    const sink = new SendQueue({ initialCapacity: 64, slabSize: 64 });
    sink.writeU32LE(1);
    const first = sink.take(true);
    const memory = first.buffer;
    sink.release(first);
    for (let i = 0; i < 100; i++) {
      sink.mark();
      sink.writeU32LE(i);
      const view = sink.take(true);
      expect(view.buffer).toBe(memory);
      expect(view.byteOffset).toBe(0);
      expect([...view]).toEqual([i, 0, 0, 0]);
      sink.release(view);
    }
  });

  test('a full slab left behind is the next slab once its views came back', () => {
    const sink = new SendQueue({ initialCapacity: 64, slabSize: 64 });
    for (let i = 0; i < 16; i++) sink.writeU32LE(i);
    const a = sink.take(true);
    sink.retire(); // views of it are out: a fresh slab comes next...
    sink.writeU32LE(99);
    const b = sink.take(true);
    expect(b.buffer).not.toBe(a.buffer);
    sink.release(a); // ...and once they are back, it is the spare
    expect(sink.spareBytes).toBe(64);
    const current = sink.buffer.buffer;
    while (sink.buffer.buffer === current) {
      sink.mark();
      sink.writeU32LE(7); // fills the current slab, then needs another: the spare
    }
    expect(sink.buffer.buffer).toBe(a.buffer);
    expect(sink.spareBytes).toBe(0);
  });

  test('an untracked view pins its slab: it is never written over', () => {
    const sink = new SendQueue({ initialCapacity: 64, slabSize: 64 });
    sink.writeU32LE(5);
    const tracked = sink.take(true);
    sink.writeU32LE(6);
    const untracked = sink.take();
    sink.release(tracked);
    for (let i = 0; i < 40; i++) sink.writeU32LE(0xffffffff);
    takeAll(sink);
    expect([...untracked]).toEqual([6, 0, 0, 0]);
  });

  test('`resize` (shrinking) forgets the slabs kept for reuse', () => {
    const sink = new SendQueue({ initialCapacity: 64, slabSize: 64 });
    for (let i = 0; i < 16; i++) sink.writeU32LE(i);
    const a = sink.take(true);
    sink.retire();
    sink.release(a);
    expect(sink.spareBytes).toBe(64);
    sink.resize(0);
    expect(sink.spareBytes).toBe(0);
  });

  test('any mix of writes, shared writes, truncates, tracked and untracked takes and releases never rewrites a view still out', () => {
    const op = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('write' as const),
          bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('message' as const),
          size: fc.integer({ min: 1, max: 70 }),
          fill: fc.integer({ min: 0, max: 255 }),
        }),
      },
      fc.record({
        kind: fc.constant('shared' as const),
        size: fc.integer({ min: SHARE_MIN - 2, max: SHARE_MIN + 2 }),
        fill: fc.integer({ min: 0, max: 255 }),
      }),
      fc.constant({ kind: 'mark' as const }),
      fc.record({ kind: fc.constant('truncate' as const), n: fc.integer({ min: 0, max: 40 }) }),
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('take' as const),
          track: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
          retire: fc.boolean(),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
      },
      fc.constant({ kind: 'resize' as const }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 20, maxLength: 80, size: 'max' }),
        fc.integer({ min: 1, max: 64 }),
        (ops, initialCapacity) => {
          const sink = new SendQueue({ initialCapacity, slabSize: 128 });
          const model: number[] = []; // held bytes
          const out: [Uint8Array, Uint8Array][] = []; // tracked, not released
          const kept: [Uint8Array, Uint8Array][] = []; // untracked: out for good
          const intact = (views: [Uint8Array, Uint8Array][]) => {
            for (const [view, copy] of views) if (!sameBytes(view, copy)) return false;
            return true;
          };
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'write') {
              sink.writeBytes(o.bytes);
              model.push(...o.bytes);
            } else if (o.kind === 'message') {
              const at = sink.reserveMessage(o.size);
              sink.buffer.fill(o.fill, at, at + o.size);
              for (let i = 0; i < o.size; i++) model.push(o.fill);
            } else if (o.kind === 'shared') {
              sink.writeShared(new Uint8Array(o.size).fill(o.fill));
              for (let i = 0; i < o.size; i++) model.push(o.fill);
            } else if (o.kind === 'mark') {
              sink.mark();
            } else if (o.kind === 'truncate') {
              sink.truncate(o.n);
              model.length = Math.max(0, model.length - o.n);
            } else if (o.kind === 'take') {
              if (sink.size === 0) continue;
              const view = sink.take(o.track);
              (o.track ? out : kept).push([view, view.slice()]);
              expect(sameBytes(view, Uint8Array.from(model.slice(0, view.length)))).toBe(true);
              model.splice(0, view.length);
              if (o.retire && sink.size === 0) sink.retire();
            } else if (o.kind === 'release') {
              if (out.length === 0) continue;
              const [view, copy] = out.splice(o.pick % out.length, 1)[0]!;
              expect(sameBytes(view, copy)).toBe(true);
              sink.release(view);
            } else if (sink.openBytes === 0) {
              sink.resize(0);
            }
            expect(sink.size).toBe(model.length);
            expect(intact(out) && intact(kept)).toBe(true);
            n++;
          }
          const rest = concatAll(takeAll(sink));
          expect(rest).toEqual(model);
          expect(intact(out) && intact(kept)).toBe(true);
          return n >= 0;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('SendQueue.retire', () => {
  test('lets an empty buffer go; the next write starts a fresh one as large', () => {
    const sink = new SendQueue({ initialCapacity: 4, slabSize: 64 });
    for (let i = 0; i < 40; i++) sink.writeU8(i);
    expect(sink.capacity).toBe(64);
    const taken = sink.take();
    sink.retire();
    expect(sink.capacity).toBe(0);
    sink.writeU8(1);
    expect(sink.capacity).toBe(64); // not 4 again
    expect(taken.buffer).not.toBe(sink.buffer.buffer);
  });

  test('keeps a buffer that holds bytes', () => {
    const sink = new SendQueue();
    sink.writeU8(1);
    const buffer = sink.buffer;
    sink.retire();
    expect(sink.buffer).toBe(buffer);
    expect([...sink.take()]).toEqual([1]);
  });
});

describe('lengthPrefixed over a SendQueue', () => {
  for (const prefix of PREFIXES) {
    for (const sized of [false, true]) {
      test(`a body written with \`writeShared\` round-trips over marked, segmented sinks (${prefix}, ${sized ? 'with' : 'without'} \`size\`)`, () => {
        // Message: [n] = a fill byte n, a shared block of SHARE_MIN + n bytes of n, then n again.
        const body: BodyCodec<number> = {
          encode(n, sink) {
            sink.writeU8(n);
            sink.writeShared(new Uint8Array(SHARE_MIN + n).fill(n));
            sink.writeU8(n);
          },
          decode(bytes) {
            const n = bytes[0]!;
            if (bytes.length !== SHARE_MIN + n + 2) return undefined;
            return bytes.every((b) => b === n) ? n : undefined;
          },
          ...(sized ? { size: (n: number) => SHARE_MIN + n + 2 } : {}),
        };
        const codec = lengthPrefixed({ maxSize: 2 * SHARE_MIN, prefix }, body);
        fc.assert(
          fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }), (ns) => {
            const sink = new SendQueue({ initialCapacity: 4, slabSize: 16 });
            const sizes = ns.map((n) => {
              sink.mark();
              return codec.encode(n, sink);
            });
            const parts: Uint8Array[] = [];
            while (sink.size > 0) parts.push(sink.take());
            const wire = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
            let o = 0;
            for (const part of parts) {
              wire.set(part, o);
              o += part.length;
            }
            let at = 0;
            for (let i = 0; i < ns.length; i++) {
              const r = codec.decode(wire.subarray(at));
              if (r.kind !== 'message') throw new Error(`expected a message, got ${r.kind}`);
              expect(r.message).toBe(ns[i]);
              expect(r.consumed).toBe(sizes[i]);
              at += r.consumed;
            }
            expect(at).toBe(wire.length);
          }),
          { numRuns: 30 },
        );
      });
    }
  }
});

describe('SendQueue keeps messages apart when it grows with a `head` past 0', () => {
  for (const prefix of PREFIXES) {
    test(`typed messages round-trip after bytes were taken (\`prefix\` '${prefix}')`, () => {
      const codec = lengthPrefixed(
        { maxSize: 5000, prefix },
        {
          encode: (text: string, sink) => {
            sink.writeUtf8(text);
          },
          decode: (body) => new TextDecoder().decode(body),
        },
      );
      fc.assert(
        fc.property(
          fc.array(fc.string({ maxLength: 300 }), { maxLength: 10 }),
          fc.nat(70),
          (texts, pad) => {
            const sink = new SendQueue({ initialCapacity: 8, slabSize: 32 });
            for (let i = 0; i < pad; i++) sink.writeU8(0);
            sink.take();
            const sizes = texts.map((t) => codec.encode(t, sink));
            const parts: Uint8Array[] = [];
            while (sink.size > 0) parts.push(sink.take());
            const wire = Uint8Array.from(parts.flatMap((p) => [...p]));
            let at = 0;
            for (let i = 0; i < texts.length; i++) {
              const r = codec.decode(wire.subarray(at));
              if (r.kind !== 'message') throw new Error(`expected a message, got ${r.kind}`);
              expect(r.message).toBe(texts[i]);
              expect(r.consumed).toBe(sizes[i]);
              at += r.consumed;
            }
          },
        ),
      );
    });
  }
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
