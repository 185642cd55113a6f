import {
  ByteSink,
  type DecodeResult,
  lengthPrefixed,
  readVarint,
  VARINT_INCOMPLETE,
} from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

function summary<M>(r: DecodeResult<M>): unknown {
  return r.kind === 'message' ? { kind: r.kind, message: r.message, consumed: r.consumed } : r.kind;
}

describe('decodeAt, the offset-taking fast path', () => {
  for (const prefix of ['u32be', 'u32le', 'varint'] as const) {
    test(`answers exactly as \`decode\` of the same range, with \`prefix\` ${prefix}`, () => {
      const codec = lengthPrefixed({ maxSize: 300, prefix });
      const body = lengthPrefixed(
        { maxSize: 300, prefix },
        {
          encode: (m: number[], s) => void s.writeBytes(Uint8Array.from(m)),
          decode: (b) => [...b],
        },
      );
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }),
          fc.uint8Array({ maxLength: 8 }),
          fc.nat(),
          fc.nat(),
          (messages, junk, a, b) => {
            const sink = new ByteSink();
            sink.writeBytes(junk);
            for (const m of messages) codec.encode(m, sink);
            const bytes = sink.peek().slice();
            const offset = bytes.length === 0 ? 0 : a % (bytes.length + 1);
            const end = offset + (b % (bytes.length - offset + 1));
            const view = bytes.subarray(offset, end);
            expect(summary(codec.decodeAt!(bytes, offset, end))).toEqual(
              summary(codec.decode(view)),
            );
            expect(summary(body.decodeAt!(bytes, offset, end))).toEqual(summary(body.decode(view)));
          },
        ),
      );
    });
  }

  test('reads nothing at or past `end`, even when a whole frame lies there', () => {
    const codec = lengthPrefixed({ maxSize: 64 });
    const sink = new ByteSink();
    codec.encode(Uint8Array.of(1, 2, 3), sink);
    const bytes = sink.peek().slice();
    expect(codec.decodeAt!(bytes, 0, bytes.length - 1).kind).toBe('incomplete');
    expect(codec.decodeAt!(bytes, 0, 3).kind).toBe('incomplete');
    expect(readVarint(Uint8Array.of(0x80, 0x01), 0, 1)).toBe(VARINT_INCOMPLETE);
  });

  test('uses the body codec’s own `decodeAt` when it has one', () => {
    const seen: Array<[number, number]> = [];
    const codec = lengthPrefixed(
      { maxSize: 64 },
      {
        encode: (m: number, s) => void s.writeU8(m),
        decode: () => {
          throw new Error('decode should not be called');
        },
        decodeAt: (bytes, start, end) => {
          seen.push([start, end]);
          return bytes[start];
        },
      },
    );
    const sink = new ByteSink();
    codec.encode(9, sink);
    codec.encode(7, sink);
    const bytes = sink.peek();
    const r = codec.decodeAt!(bytes, 5, bytes.length);
    expect(r).toMatchObject({ kind: 'message', message: 7, consumed: 5 });
    expect(seen).toEqual([[9, 10]]);
  });
});
