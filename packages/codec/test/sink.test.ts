import {
  ByteSink,
  readU16BE,
  readU16LE,
  readU32BE,
  readU32LE,
  readU64BE,
  readU64LE,
  readVarint,
  VARINT_INCOMPLETE,
  VARINT_MALFORMED,
  varintSize,
} from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const MAX_VARINT = Number.MAX_SAFE_INTEGER;

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

describe('a plain ByteSink', () => {
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

  test('stays contiguous: `peek` sees every byte written, `writeShared` included (copied)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 20 }), (writes) => {
        const sink = new ByteSink({ initialCapacity: 1 });
        const shared = writes.map((bytes, i) => {
          if (i % 2 === 0) sink.writeBytes(bytes);
          else sink.writeShared(bytes);
          return [...bytes];
        });
        for (const bytes of writes) bytes.fill(0xee); // the sink kept copies
        expect([...sink.peek()]).toEqual(shared.flat());
        expect(sink.size).toBe(shared.flat().length);
      }),
    );
  });

  test('`patchU32` overwrites held bytes by index, and refuses a range that is not held', () => {
    const sink = new ByteSink({ initialCapacity: 2 });
    sink.writeU8(9);
    sink.reserve(4);
    sink.writeBytes(new Uint8Array(50)); // grows: the reserved bytes move
    sink.patchU32(1, 0x01020304);
    sink.patchU32(47, 0x0a0b0c0d, true);
    expect([...sink.peek().subarray(0, 5)]).toEqual([9, 1, 2, 3, 4]);
    expect([...sink.peek().subarray(47, 51)]).toEqual([0x0d, 0x0c, 0x0b, 0x0a]);
    expect(codeOf(() => sink.patchU32(52, 1))).toBe('ERR_INVALID_ARGUMENT');
  });

  test('`clear` forgets everything and reuses the buffer', () => {
    const sink = new ByteSink();
    sink.writeU32BE(1);
    const buffer = sink.buffer;
    sink.clear();
    expect(sink.size).toBe(0);
    sink.writeU8(5);
    expect(sink.buffer).toBe(buffer);
    expect([...sink.peek()]).toEqual([5]);
  });

  test('`view` writes in place after `reserve`', () => {
    const sink = new ByteSink({ initialCapacity: 1 });
    const o = sink.reserve(8);
    sink.view.setFloat64(o, 1.5, true);
    expect(new DataView(sink.peek().buffer, sink.peek().byteOffset).getFloat64(0, true)).toBe(1.5);
  });

  test('growth doubles from `initialCapacity`', () => {
    const sink = new ByteSink({ initialCapacity: 4 });
    expect(sink.capacity).toBe(0);
    sink.writeU8(1);
    expect(sink.capacity).toBe(4);
    sink.writeU32BE(1);
    expect(sink.capacity).toBe(8);
    sink.writeBytes(new Uint8Array(20));
    expect(sink.capacity).toBe(32);
  });

  test('a wrong argument type is `ERR_INVALID_ARGUMENT` naming the argument, and writes nothing', () => {
    const sink = new ByteSink();
    for (const [fn, name] of [
      [() => sink.writeBytes({ length: 5 } as unknown as Uint8Array), 'bytes'],
      [() => sink.writeShared(null as unknown as Uint8Array), 'bytes'],
      [() => sink.writeUtf8(5 as unknown as string), 'text'],
      [() => sink.writeU8('1' as unknown as number), 'value'],
      [() => sink.writeU64LE(1 as unknown as bigint), 'value'],
      [() => new ByteSink({ initialCapacity: -1 }), 'initialCapacity'],
    ] as const) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code).toBe('ERR_INVALID_ARGUMENT');
      expect((error as Error).message.startsWith(`${name}:`)).toBe(true);
    }
    expect(sink.size).toBe(0);
  });
});
