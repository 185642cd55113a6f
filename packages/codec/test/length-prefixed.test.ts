import {
  type BodyCodec,
  ByteSink,
  type Codec,
  type DecodeResult,
  type LengthPrefix,
  lengthPrefixed,
} from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const PREFIXES: LengthPrefix[] = ['u32be', 'u32le', 'varint'];

function encode<M>(codec: Codec<M>, messages: M[]): { wire: Uint8Array; sizes: number[] } {
  const sink = new ByteSink({ initialCapacity: 1 });
  const sizes = messages.map((m) => codec.encode(m, sink));
  return { wire: sink.peek(), sizes };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

function expectMalformed<M>(result: DecodeResult<M>): void {
  expect(result.kind).toBe('malformed');
}

const utf8: BodyCodec<string> = {
  encode: (text, sink) => {
    sink.writeUtf8(text);
  },
  decode: (body) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return undefined;
    }
  },
};

const utf8Sized: BodyCodec<string> = {
  ...utf8,
  size: (text) => new TextEncoder().encode(text).length,
};

describe('lengthPrefixed() raw bodies', () => {
  for (const prefix of PREFIXES) {
    test(`round-trips any bodies with \`prefix\` '${prefix}'`, () => {
      const codec = lengthPrefixed({ maxSize: 70_000, prefix });
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }), (bodies) => {
          const { wire, sizes } = encode(codec, bodies);
          let at = 0;
          for (let i = 0; i < bodies.length; i++) {
            expect(codec.sizeHint?.(bodies[i]!)).toBe(sizes[i]);
            const r = codec.decode(wire.subarray(at));
            if (r.kind !== 'message') throw new Error(`expected a message, got ${r.kind}`);
            expect(r.message).toEqual(bodies[i]);
            expect(r.consumed).toBe(sizes[i]);
            at += r.consumed;
          }
          expect(at).toBe(wire.length);
          expect(codec.decode(wire.subarray(at)).kind).toBe('incomplete');
        }),
      );
    });

    test(`answers incomplete for every strict prefix of a frame with \`prefix\` '${prefix}'`, () => {
      const codec = lengthPrefixed({ maxSize: 1000, prefix });
      const { wire } = encode(codec, [new Uint8Array(300).fill(7)]);
      for (let n = 0; n < wire.length; n++) {
        expect(codec.decode(wire.subarray(0, n)).kind).toBe('incomplete');
      }
      expect(codec.decode(wire).kind).toBe('message');
    });

    test(`reports a declared length above \`maxSize\` as soon as the '${prefix}' prefix is read`, () => {
      const maxSize = 1000;
      const codec = lengthPrefixed({ maxSize, prefix });
      const prefixOnly = new ByteSink();
      const prefixSize = prefix === 'varint' ? 2 : 4;
      // The smallest body length whose frame exceeds maxSize by one byte.
      const body = maxSize - prefixSize + 1;
      if (prefix === 'varint') prefixOnly.writeVarint(body);
      else if (prefix === 'u32be') prefixOnly.writeU32BE(body);
      else prefixOnly.writeU32LE(body);
      expectMalformed(codec.decode(prefixOnly.peek()));
      // One byte less declares a frame of exactly maxSize: that waits for the body.
      const ok = new ByteSink();
      if (prefix === 'varint') ok.writeVarint(body - 1);
      else if (prefix === 'u32be') ok.writeU32BE(body - 1);
      else ok.writeU32LE(body - 1);
      expect(codec.decode(ok.peek()).kind).toBe('incomplete');
    });

    test(`decodes a frame of exactly \`maxSize\` with \`prefix\` '${prefix}'`, () => {
      const codec = lengthPrefixed({ maxSize: 300, prefix });
      const body = new Uint8Array(300 - (prefix === 'varint' ? 2 : 4)).fill(1);
      const { wire, sizes } = encode(codec, [body]);
      expect(sizes).toEqual([300]);
      const r = codec.decode(wire);
      expect(r.kind === 'message' && r.consumed).toBe(300);
    });

    test(`never throws on arbitrary bytes with \`prefix\` '${prefix}'`, () => {
      const codec = lengthPrefixed({ maxSize: 64, prefix });
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
          const r = codec.decode(bytes);
          if (r.kind === 'message') {
            expect(r.consumed).toBeGreaterThan(0);
            expect(r.consumed).toBeLessThanOrEqual(Math.min(64, bytes.length));
          }
        }),
      );
    });
  }

  test('decoded raw bodies are views of the input; the codec says so (`retainsInput`)', () => {
    const codec = lengthPrefixed({ maxSize: 100 });
    const { wire } = encode(codec, [Uint8Array.of(1, 2, 3)]);
    const r = codec.decode(wire);
    expect(r.kind === 'message' && r.message.buffer).toBe(wire.buffer);
    expect(r.kind === 'message' && [...r.message]).toEqual([1, 2, 3]);
    expect(codec.retainsInput).toBe(true);
  });

  for (const prefix of PREFIXES) {
    test(`frameSize (${prefix}) tells the whole frame's size once the prefix is readable`, () => {
      const codec = lengthPrefixed({ maxSize: 1000, prefix });
      const { wire } = encode(codec, [new Uint8Array(300)]);
      const head = prefix === 'varint' ? 2 : 4;
      expect(codec.frameSize!(wire, 0, head - 1)).toBe(-1);
      expect(codec.frameSize!(wire, 0, head)).toBe(head + 300);
      expect(codec.frameSize!(wire, 0, wire.length)).toBe(head + 300);
    });
  }

  test('frameSize of a malformed varint is not a size (decode reports it)', () => {
    const codec = lengthPrefixed({ maxSize: 100, prefix: 'varint' });
    const bad = new Uint8Array(10).fill(0x80);
    expect(codec.frameSize!(bad, 0, bad.length)).toBe(0);
  });

  test('rejects a non-minimal varint prefix as malformed', () => {
    const codec = lengthPrefixed({ maxSize: 100, prefix: 'varint' });
    expectMalformed(codec.decode(Uint8Array.of(0x81, 0x00, 1)));
  });

  test('the default `prefix` is a big-endian u32', () => {
    const codec = lengthPrefixed({ maxSize: 100 });
    expect([...encode(codec, [Uint8Array.of(9)]).wire]).toEqual([0, 0, 0, 1, 9]);
  });
});

describe('lengthPrefixed() with a body codec', () => {
  for (const prefix of PREFIXES) {
    for (const [label, body] of [
      ['without `size`', utf8],
      ['with `size`', utf8Sized],
    ] as const) {
      test(`round-trips typed messages ${label} and \`prefix\` '${prefix}'`, () => {
        const codec = lengthPrefixed({ maxSize: 5000, prefix }, body);
        expect(codec.sizeHint === undefined).toBe(body.size === undefined);
        fc.assert(
          fc.property(
            fc.array(fc.string({ maxLength: 300 }), { maxLength: 10 }),
            fc.nat(70),
            (texts, pad) => {
              const sink = new ByteSink({ initialCapacity: 8 });
              // Bytes held before, so that the messages start past 0 in a growing sink.
              for (let i = 0; i < pad; i++) sink.writeU8(0);
              const sizes = texts.map((t) => codec.encode(t, sink));
              const wire = sink.peek().subarray(pad);
              expect(wire.length).toBe(sizes.reduce((a, b) => a + b, 0));
              let at = 0;
              for (let i = 0; i < texts.length; i++) {
                if (codec.sizeHint !== undefined) expect(codec.sizeHint(texts[i]!)).toBe(sizes[i]);
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
  }

  test('a body the body codec rejects is malformed', () => {
    const codec = lengthPrefixed({ maxSize: 100, prefix: 'varint' }, utf8);
    expectMalformed(codec.decode(Uint8Array.of(2, 0xff, 0xfe)));
  });

  test('hands the body decoder exactly the body bytes', () => {
    const seen: number[][] = [];
    const codec = lengthPrefixed(
      { maxSize: 100 },
      {
        encode: () => {},
        decode: (b) => {
          seen.push([...b]);
          return 1;
        },
      },
    );
    codec.decode(Uint8Array.of(0, 0, 0, 2, 5, 6, 7));
    expect(seen).toEqual([[5, 6]]);
  });

  test('a `size` that disagrees with `encode` throws ERR_ENCODE_FAILURE', () => {
    const codec = lengthPrefixed({ maxSize: 100 }, { ...utf8Sized, size: () => 1 });
    expect(codeOf(() => codec.encode('hello', new ByteSink()))).toBe('ERR_ENCODE_FAILURE');
  });
});

describe('lengthPrefixed() options', () => {
  test('rejects a `maxSize` not above the prefix size with ERR_INVALID_CONFIG naming `maxSize`', () => {
    for (const [maxSize, prefix] of [
      [4, 'u32be'],
      [1, 'varint'],
      [0, 'u32le'],
      [1.5, 'varint'],
      [Number.NaN, 'u32be'],
    ] as const) {
      try {
        lengthPrefixed({ maxSize, prefix });
        expect.unreachable();
      } catch (error) {
        expect((error as { code: string }).code).toBe('ERR_INVALID_CONFIG');
        expect((error as Error).message.startsWith('maxSize')).toBe(true);
      }
    }
  });

  test('rejects a `maxSize` a u32 prefix cannot declare', () => {
    expect(codeOf(() => lengthPrefixed({ maxSize: 2 ** 32 + 5, prefix: 'u32be' }))).toBe(
      'ERR_INVALID_CONFIG',
    );
    expect(codeOf(() => lengthPrefixed({ maxSize: 2 ** 32 + 5, prefix: 'varint' }))).toBe(
      undefined,
    );
  });

  test('rejects an unknown `prefix` with ERR_INVALID_CONFIG naming `prefix`', () => {
    try {
      lengthPrefixed({ maxSize: 100, prefix: 'u16' as LengthPrefix });
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('ERR_INVALID_CONFIG');
      expect((error as Error).message.startsWith('prefix')).toBe(true);
    }
  });
});

describe('raw lengthPrefixed `encodeAt` (the stream fast path)', () => {
  for (const prefix of PREFIXES) {
    test(`writes exactly what \`encode\` writes, in exactly \`sizeHint\` bytes, touching nothing else (${prefix})`, () => {
      const codec = lengthPrefixed({ maxSize: 1 << 20, prefix });
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.integer({ min: 0, max: 40 }),
          (body, offset) => {
            const size = codec.sizeHint!(body);
            const expected = encode(codec, [body]).wire;
            const out = new Uint8Array(offset + size + 8).fill(0xa5);
            codec.encodeAt!(body, out, offset, size);
            expect(out.subarray(offset, offset + size)).toEqual(expected);
            expect(out.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
            expect(out.subarray(offset + size).every((b) => b === 0xa5)).toBe(true);
          },
        ),
      );
    });
  }

  test('refuses a size that is not the encoded size, writing nothing', () => {
    const codec = lengthPrefixed({ maxSize: 100, prefix: 'u32le' });
    const out = new Uint8Array(20).fill(7);
    expect(codeOf(() => codec.encodeAt!(new Uint8Array(5), out, 0, 8))).toBe('ERR_ENCODE_FAILURE');
    expect(codeOf(() => codec.encodeAt!(new Uint8Array(5), out, 0, 10))).toBe('ERR_ENCODE_FAILURE');
    expect(out.every((b) => b === 7)).toBe(true);
    expect(codeOf(() => codec.encodeAt!('x' as unknown as Uint8Array, out, 0, 5))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
  });
});
