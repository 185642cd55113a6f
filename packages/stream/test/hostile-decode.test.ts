import { type Codec, type DecodeResult, decoded, malformed } from '@peerlink/codec';
import { MessageStream, PeerlinkError, type StreamErrorCode } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { anyCodecAct, type CodecAct, revokedProxy, throwingProxy } from './hostile-values.js';

/** A codec whose `decode` does `act` on every call. */
function actingCodec(act: CodecAct, withDecodeAt: boolean): Codec<unknown> {
  const decode = (): DecodeResult<unknown> => {
    if (act.throws) throw act.value;
    return act.value as DecodeResult<unknown>;
  };
  return {
    maxSize: 16,
    encode: () => 0,
    decode,
    ...(withDecodeAt ? { decodeAt: decode } : {}),
  };
}

const ENDING: readonly StreamErrorCode[] = [
  'ERR_CODEC_FAILURE',
  'ERR_MALFORMED_MESSAGE',
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_RX_LIMIT', // a codec that answers `incomplete` for ever
];

function feed(codec: Codec<unknown>): { error: PeerlinkError | undefined; delivered: number } {
  const stream = new MessageStream(codec);
  let delivered = 0;
  const sink = () => {
    delivered++;
  };
  let error = stream.handleData(new Uint8Array(8), sink, 0);
  if (error === undefined) error = stream.handleData(new Uint8Array(8), sink, 1);
  return { error, delivered };
}

/** The result of a codec's `decode`, cast from anything. */
const result = (value: unknown) => value as DecodeResult<unknown>;

describe('MessageStream with a hostile codec', () => {
  const cases: Array<[string, unknown, StreamErrorCode]> = [
    [
      'a `consumed` that is a Symbol',
      { kind: 'message', message: 1, consumed: Symbol('n') },
      'ERR_CODEC_FAILURE',
    ],
    [
      'a `consumed` whose `valueOf` throws',
      {
        kind: 'message',
        message: 1,
        consumed: {
          valueOf() {
            throw new Error('valueOf');
          },
        },
      },
      'ERR_CODEC_FAILURE',
    ],
    ['a Symbol `reason`', { kind: 'malformed', reason: Symbol('why') }, 'ERR_MALFORMED_MESSAGE'],
    [
      'a `reason` whose `toString` throws',
      {
        kind: 'malformed',
        reason: {
          toString() {
            throw new Error('toString');
          },
        },
      },
      'ERR_MALFORMED_MESSAGE',
    ],
    [
      'a result whose `kind` getter throws',
      Object.defineProperty({}, 'kind', {
        get() {
          throw new Error('kind');
        },
      }),
      'ERR_CODEC_FAILURE',
    ],
    [
      'a result whose `consumed` getter throws',
      Object.defineProperty({ kind: 'message', message: 1 }, 'consumed', {
        get() {
          throw new Error('consumed');
        },
      }),
      'ERR_CODEC_FAILURE',
    ],
    [
      'a `message` getter that throws',
      Object.defineProperty({ kind: 'message', consumed: 4 }, 'message', {
        get() {
          throw new Error('message');
        },
      }),
      'ERR_CODEC_FAILURE',
    ],
    [
      'a Proxy whose traps throw',
      throwingProxy({ kind: 'message', consumed: 4 }),
      'ERR_CODEC_FAILURE',
    ],
    ['a revoked Proxy', revokedProxy(), 'ERR_CODEC_FAILURE'],
    ['a string', 'message', 'ERR_CODEC_FAILURE'],
  ];

  for (const [what, value, code] of cases) {
    test(`ends the stream with \`${code}\`, never throwing, on ${what}`, () => {
      for (const withDecodeAt of [false, true]) {
        const { error, delivered } = feed(actingCodec({ throws: false, value }, withDecodeAt));
        expect(error?.code).toBe(code);
        expect(delivered).toBe(0);
      }
    });
  }

  test('keeps what the codec threw as the `cause`, whatever it is (a Symbol, a Proxy)', () => {
    for (const thrown of [Symbol('t'), throwingProxy(), revokedProxy(), undefined, 42]) {
      const { error } = feed(actingCodec({ throws: true, value: thrown }, false));
      expect(error?.code).toBe('ERR_CODEC_FAILURE');
      expect(error?.cause).toBe(thrown);
    }
  });

  test('keeps an invalid result as the `cause` of the codec failure', () => {
    const bad = { kind: 'message', message: 1, consumed: Symbol('n') };
    expect(feed(actingCodec({ throws: false, value: bad }, true)).error?.cause).toBe(bad);
  });

  test('a well-formed malformed result still reads as `ERR_MALFORMED_MESSAGE` with its reason', () => {
    const { error } = feed(actingCodec({ throws: false, value: malformed('bad tag') }, false));
    expect(error?.code).toBe('ERR_MALFORMED_MESSAGE');
    expect(error?.message).toContain('bad tag');
  });

  test('never throws for any decode result or thrown value; a failure is one of its codes', () => {
    fc.assert(
      fc.property(anyCodecAct, fc.boolean(), (makeAct, withDecodeAt) => {
        const act = makeAct();
        const { error } = feed(actingCodec(act, withDecodeAt));
        if (error !== undefined) {
          expect(PeerlinkError.isInstance(error)).toBe(true);
          expect(ENDING).toContain(error.code);
          if (act.throws) expect(error.cause).toBe(act.value);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws for a codec that retains its input, whatever `decode` and `frameSize` return or throw (property)', () => {
    fc.assert(
      fc.property(anyCodecAct, anyCodecAct, fc.boolean(), (makeDecode, makeFrame, owned) => {
        const act = makeDecode();
        const frameAct = makeFrame();
        const codec: Codec<unknown> = {
          ...actingCodec(act, true),
          retainsInput: true,
          frameSize: () => {
            if (frameAct.throws) throw frameAct.value;
            return frameAct.value as number;
          },
        };
        const stream = new MessageStream(codec);
        const sink = () => {};
        let error = stream.handleData(new Uint8Array(6), sink, 0, owned);
        if (error === undefined) error = stream.handleData(new Uint8Array(6), sink, 1, owned);
        if (error !== undefined) {
          expect(PeerlinkError.isInstance(error)).toBe(true);
          expect(ENDING).toContain(error.code);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('a valid message result is still delivered', () => {
    const { error, delivered } = feed(actingCodec({ throws: false, value: decoded('x', 4) }, true));
    expect(error).toBeUndefined();
    expect(delivered).toBe(4);
    expect(result(undefined)).toBeUndefined();
  });
});
