import {
  ByteSink,
  COMPACT_SIZE_INCOMPLETE,
  COMPACT_SIZE_MALFORMED,
  compactSizeSize,
  MAX_COMPACT_SIZE,
  readCompactSize,
  writeCompactSize,
} from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

function encode(value: number): Uint8Array {
  const sink = new ByteSink();
  writeCompactSize(sink, value);
  return sink.peek().slice();
}

/** An independent reference encoder, with bigint arithmetic. */
function reference(value: bigint): Uint8Array {
  const le = (n: number) => {
    const out = new Uint8Array(n);
    let v = value;
    for (let i = 0; i < n; i++) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  };
  if (value < 0xfdn) return Uint8Array.of(Number(value));
  if (value <= 0xffffn) return Uint8Array.of(0xfd, ...le(2));
  if (value <= 0xffffffffn) return Uint8Array.of(0xfe, ...le(4));
  return Uint8Array.of(0xff, ...le(8));
}

/** Encodes `value` in a form `width` bytes long, canonical or not. */
function widened(value: bigint, width: 3 | 5 | 9): Uint8Array {
  const out = new Uint8Array(width);
  out[0] = width === 3 ? 0xfd : width === 5 ? 0xfe : 0xff;
  let v = value;
  for (let i = 1; i < width; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const anyValue = fc.oneof(
  fc.integer({ min: 0, max: 0x1ff }),
  fc.integer({ min: 0, max: 0x1ffff }),
  fc.integer({ min: 0, max: 0x1ffffffff }),
  fc.maxSafeNat(),
);

describe('CompactSize', () => {
  test('encodes the boundary values as Bitcoin does', () => {
    expect([...encode(0)]).toEqual([0]);
    expect([...encode(0xfc)]).toEqual([0xfc]);
    expect([...encode(0xfd)]).toEqual([0xfd, 0xfd, 0x00]);
    expect([...encode(2000)]).toEqual([0xfd, 0xd0, 0x07]);
    expect([...encode(0xffff)]).toEqual([0xfd, 0xff, 0xff]);
    expect([...encode(0x10000)]).toEqual([0xfe, 0x00, 0x00, 0x01, 0x00]);
    expect([...encode(0xffffffff)]).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff]);
    expect([...encode(0x100000000)]).toEqual([0xff, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect([...encode(MAX_COMPACT_SIZE)]).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
    ]);
  });

  test('writes what an independent encoder writes, and reads it back', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const bytes = encode(value);
        expect(bytes).toEqual(reference(BigInt(value)));
        expect(bytes.length).toBe(compactSizeSize(value));
        expect(readCompactSize(bytes, 0)).toBe(value);
      }),
    );
  });

  test('reads at an offset and uses no byte at or past `end`', () => {
    fc.assert(
      fc.property(
        anyValue,
        fc.uint8Array({ maxLength: 6 }),
        fc.uint8Array({ maxLength: 6 }),
        (value, before, after) => {
          const bytes = Uint8Array.of(...before, ...encode(value), ...after);
          const end = before.length + compactSizeSize(value);
          expect(readCompactSize(bytes, before.length, end)).toBe(value);
          for (let cut = before.length; cut < end; cut++) {
            expect(readCompactSize(bytes, before.length, cut)).toBe(COMPACT_SIZE_INCOMPLETE);
          }
        },
      ),
    );
  });

  test('refuses every non-canonical (longer than needed) encoding', () => {
    fc.assert(
      fc.property(anyValue, fc.constantFrom(3 as const, 5 as const, 9 as const), (value, width) => {
        fc.pre(width > compactSizeSize(value));
        expect(readCompactSize(widened(BigInt(value), width), 0)).toBe(COMPACT_SIZE_MALFORMED);
      }),
    );
  });

  test('refuses values above 2^53 - 1 instead of losing precision', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: BigInt(MAX_COMPACT_SIZE) + 1n, max: 2n ** 64n - 1n }),
        (value) => {
          expect(readCompactSize(widened(value, 9), 0)).toBe(COMPACT_SIZE_MALFORMED);
        },
      ),
    );
  });

  test('never answers anything but a value, incomplete or malformed for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        const r = readCompactSize(bytes, 0);
        if (r >= 0) {
          expect(Number.isSafeInteger(r)).toBe(true);
          expect(encode(r)).toEqual(bytes.subarray(0, compactSizeSize(r)));
        } else {
          expect([COMPACT_SIZE_INCOMPLETE, COMPACT_SIZE_MALFORMED]).toContain(r);
        }
      }),
    );
  });

  test('`writeCompactSize` throws ERR_INVALID_ARGUMENT for a value out of range and writes nothing', () => {
    for (const bad of [-1, 1.5, MAX_COMPACT_SIZE + 1, Number.NaN]) {
      const sink = new ByteSink();
      expect(() => writeCompactSize(sink, bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
      expect(sink.size).toBe(0);
    }
  });
});
