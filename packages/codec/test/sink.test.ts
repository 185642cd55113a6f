import {
  ByteSink,
  MAX_VARINT,
  readU16BE,
  readU16LE,
  readU32BE,
  readU32LE,
  readU64BE,
  readU64LE,
  readVarint,
  SHARE_MIN,
  VARINT_INCOMPLETE,
  VARINT_MALFORMED,
  varintSize,
} from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('ByteSink integer writers', () => {
  const cases = [
    { name: 'writeU16BE', max: 0xffff, size: 2, read: readU16BE },
    { name: 'writeU16LE', max: 0xffff, size: 2, read: readU16LE },
    { name: 'writeU32BE', max: 0xffffffff, size: 4, read: readU32BE },
    { name: 'writeU32LE', max: 0xffffffff, size: 4, read: readU32LE },
  ] as const;

  for (const { name, max, size, read } of cases) {
    test(`\`${name}\` round-trips with its reader at any offset`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max }), fc.nat(20), (value, pad) => {
          const sink = new ByteSink({ initialCapacity: 1 });
          for (let i = 0; i < pad; i++) sink.writeU8(0xaa);
          expect(sink[name](value)).toBe(size);
          expect(read(sink.peek(), pad)).toBe(value);
          expect(sink.size).toBe(pad + size);
        }),
      );
    });

    test(`\`${name}\` rejects values out of range with ERR_INVALID_ARGUMENT`, () => {
      const sink = new ByteSink();
      for (const bad of [-1, max + 1, 1.5, Number.NaN]) {
        expect(codeOf(() => sink[name](bad))).toBe('ERR_INVALID_ARGUMENT');
      }
      expect(sink.size).toBe(0);
    });
  }

  test('`writeU16BE` and `writeU32BE` are big-endian, the LE forms little-endian', () => {
    const sink = new ByteSink();
    sink.writeU16BE(0x0102);
    sink.writeU16LE(0x0102);
    sink.writeU32BE(0x01020304);
    sink.writeU32LE(0x01020304);
    expect([...sink.peek()]).toEqual([1, 2, 2, 1, 1, 2, 3, 4, 4, 3, 2, 1]);
  });

  test('`writeU8` round-trips every byte and rejects 256 and -1', () => {
    const sink = new ByteSink();
    for (let i = 0; i < 256; i++) expect(sink.writeU8(i)).toBe(1);
    expect([...sink.peek()]).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(codeOf(() => sink.writeU8(256))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => sink.writeU8(-1))).toBe('ERR_INVALID_ARGUMENT');
  });

  for (const [name, read] of [
    ['writeU64BE', readU64BE],
    ['writeU64LE', readU64LE],
  ] as const) {
    test(`\`${name}\` round-trips with its reader`, () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(9), (value, pad) => {
          const sink = new ByteSink({ initialCapacity: 2 });
          for (let i = 0; i < pad; i++) sink.writeU8(0);
          expect(sink[name](value)).toBe(8);
          expect(read(sink.peek(), pad)).toBe(value);
        }),
      );
    });

    test(`\`${name}\` rejects -1 and 2^64 with ERR_INVALID_ARGUMENT`, () => {
      const sink = new ByteSink();
      expect(codeOf(() => sink[name](-1n))).toBe('ERR_INVALID_ARGUMENT');
      expect(codeOf(() => sink[name](2n ** 64n))).toBe('ERR_INVALID_ARGUMENT');
    });
  }
});

describe('varints', () => {
  test('`writeVarint` round-trips with `readVarint` and uses `varintSize` bytes', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.nat(5), (value, pad) => {
        const sink = new ByteSink({ initialCapacity: 1 });
        for (let i = 0; i < pad; i++) sink.writeU8(0xff);
        const n = sink.writeVarint(value);
        expect(n).toBe(varintSize(value));
        expect(sink.size).toBe(pad + n);
        expect(readVarint(sink.peek(), pad)).toBe(value);
      }),
    );
  });

  test('encodes the edge values 0, 127, 128 and 2^53 - 1', () => {
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [16383, [0xff, 0x7f]],
      [16384, [0x80, 0x80, 0x01]],
      [MAX_VARINT, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ];
    for (const [value, bytes] of cases) {
      const sink = new ByteSink();
      sink.writeVarint(value);
      expect([...sink.peek()]).toEqual(bytes);
      expect(readVarint(Uint8Array.from(bytes), 0)).toBe(value);
      expect(varintSize(value)).toBe(bytes.length);
    }
  });

  test('`writeVarint` rejects negative, fractional and unsafe values', () => {
    const sink = new ByteSink();
    for (const bad of [-1, 0.5, MAX_VARINT + 1, Number.POSITIVE_INFINITY]) {
      expect(codeOf(() => sink.writeVarint(bad))).toBe('ERR_INVALID_ARGUMENT');
    }
  });

  test('`readVarint` rejects over-long (non-minimal) encodings', () => {
    expect(readVarint(Uint8Array.of(0x80, 0x00), 0)).toBe(VARINT_MALFORMED);
    expect(readVarint(Uint8Array.of(0x81, 0x80, 0x00), 0)).toBe(VARINT_MALFORMED);
    expect(readVarint(Uint8Array.of(0xff, 0x80, 0x80, 0x00), 0)).toBe(VARINT_MALFORMED);
  });

  test('`readVarint` rejects values above 2^53 - 1 and encodings longer than 8 bytes', () => {
    // 2^53 exactly.
    expect(readVarint(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10), 0)).toBe(
      VARINT_MALFORMED,
    );
    expect(readVarint(new Uint8Array(9).fill(0xff), 0)).toBe(VARINT_MALFORMED);
  });

  test('`readVarint` reports a cut-off varint as incomplete', () => {
    expect(readVarint(new Uint8Array(0), 0)).toBe(VARINT_INCOMPLETE);
    expect(readVarint(Uint8Array.of(0x80), 0)).toBe(VARINT_INCOMPLETE);
    expect(readVarint(Uint8Array.of(0, 0xff, 0xff), 1)).toBe(VARINT_INCOMPLETE);
  });

  test('`readVarint` never throws and answers a value, incomplete or malformed for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        const v = readVarint(bytes, 0);
        if (v >= 0) {
          expect(Number.isSafeInteger(v)).toBe(true);
          // A value read back re-encodes to exactly the bytes it came from.
          const sink = new ByteSink();
          sink.writeVarint(v);
          expect([...sink.peek()]).toEqual([...bytes.subarray(0, varintSize(v))]);
        } else {
          expect([VARINT_INCOMPLETE, VARINT_MALFORMED]).toContain(v);
        }
      }),
    );
  });
});

describe('ByteSink buffer management', () => {
  test('`writeBytes` and `writeUtf8` append and return the bytes written', () => {
    const sink = new ByteSink({ initialCapacity: 1 });
    expect(sink.writeBytes(Uint8Array.of(1, 2, 3))).toBe(3);
    expect(sink.writeUtf8('héllo €')).toBe(new TextEncoder().encode('héllo €').length);
    expect(new TextDecoder().decode(sink.peek().subarray(3))).toBe('héllo €');
  });

  test('`writeUtf8` round-trips any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const sink = new ByteSink({ initialCapacity: 1 });
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
          const sink = new ByteSink({ initialCapacity, slabSize: 512 });
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
    const sink = new ByteSink({ initialCapacity: 8, slabSize: 8 });
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
    const sink = new ByteSink();
    expect(sink.take().length).toBe(0);
    sink.writeU8(9);
    expect([...sink.take()]).toEqual([9]);
    expect(sink.take().length).toBe(0);
  });

  test('`truncate` drops the last bytes but never taken ones', () => {
    const sink = new ByteSink();
    sink.writeBytes(Uint8Array.of(1, 2));
    sink.take();
    sink.writeBytes(Uint8Array.of(3, 4, 5));
    sink.truncate(2);
    expect([...sink.peek()]).toEqual([3]);
    sink.truncate(10);
    expect(sink.size).toBe(0);
  });

  test('`resize` keeps the held bytes and `resize(0)` on an empty sink releases its memory', () => {
    const sink = new ByteSink({ initialCapacity: 16 });
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
    const sink = new ByteSink({ initialCapacity: 4, slabSize: 16 });
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
    const sink = new ByteSink({ initialCapacity: 4, slabSize: 16 });
    sink.writeBytes(new Uint8Array(100));
    expect(sink.capacity).toBe(100);
    sink.take();
    sink.writeU8(1);
    expect(sink.capacity).toBe(16);
  });

  test('many small writes past `slabSize` reallocate only a logarithmic number of times', () => {
    const sink = new ByteSink({ initialCapacity: 16, slabSize: 64 });
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
function takeAll(sink: ByteSink): Uint8Array[] {
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

describe('ByteSink segments: marks, shared bytes, patches', () => {
  test('growing a marked sink keeps the messages before the mark in place: no copy of them', () => {
    const sink = new ByteSink({ initialCapacity: 16, slabSize: 16 });
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
    const sink = new ByteSink({ initialCapacity: 4, slabSize: 8 });
    for (let i = 0; i < 40; i++) sink.writeU8(i);
    expect(sink.segments).toBe(1);
    expect([...sink.peek()]).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  test('`writeShared` appends large bytes by reference and copies small ones', () => {
    const sink = new ByteSink();
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
    const sink = new ByteSink({ initialCapacity: 8, slabSize: 8 });
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
    const sink = new ByteSink({ initialCapacity: 8, slabSize: 8 });
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
    const sink = new ByteSink({ initialCapacity: 4, slabSize: 4 });
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
          const sink = new ByteSink({ initialCapacity, slabSize: 128 });
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

describe('ByteSink.retire', () => {
  test('lets an empty buffer go; the next write starts a fresh one as large', () => {
    const sink = new ByteSink({ initialCapacity: 4, slabSize: 64 });
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
    const sink = new ByteSink();
    sink.writeU8(1);
    const buffer = sink.buffer;
    sink.retire();
    expect(sink.buffer).toBe(buffer);
    expect([...sink.take()]).toEqual([1]);
  });
});
