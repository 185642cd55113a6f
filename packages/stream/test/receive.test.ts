import {
  type Codec,
  type DecodeResult,
  decoded,
  incomplete,
  type LengthPrefix,
  lengthPrefixed,
  malformed,
  type PeerlinkError,
} from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { chunk, encodeAll, neverEnding, ping } from './helpers.js';

const PREFIXES: LengthPrefix[] = ['u32be', 'u32le', 'varint'];

/** Chunk sizes from 1 byte to 64 KiB, mostly small so that messages are split often. */
const chunkSizes = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 16 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 600 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 65536 }) },
  ),
  { minLength: 1, maxLength: 20 },
);

interface Delivery<M> {
  messages: M[];
  sizes: number[];
  error: PeerlinkError | undefined;
}

/**
 * Feeds `chunks` to `stream`. `stops[i]` says whether the sink answers `false` to the i-th message;
 * `resumeNow[j]` whether input held back after chunk j is resumed before the next chunk arrives
 * (else the next chunk arrives first, as from a transport that paused late).
 */
function deliver<M>(
  stream: MessageStream<M>,
  chunks: Uint8Array[],
  stops: boolean[] = [],
  resumeNow: boolean[] = [],
): Delivery<M> {
  const out: Delivery<M> = { messages: [], sizes: [], error: undefined };
  let n = 0;
  const sink = (message: M, size: number) => {
    out.messages.push(message);
    out.sizes.push(size);
    return stops.length === 0 ? true : !stops[n++ % stops.length];
  };
  const drain = () => {
    for (let guard = 0; stream.hasBufferedInput; guard++) {
      if (guard > 1_000_000) throw new Error('resumeReceive does not progress');
      const e = stream.resumeReceive(sink, 0);
      if (e !== undefined) return e;
    }
    return undefined;
  };
  for (let j = 0; j < chunks.length; j++) {
    const c = chunks[j]!;
    let e = stream.handleData(c, sink, 0);
    // The chunk is only lent: scribbling over it afterwards must not matter.
    c.fill(0xee);
    if (e === undefined && (resumeNow.length === 0 || resumeNow[j % resumeNow.length])) e = drain();
    if (e !== undefined) {
      out.error = e;
      return out;
    }
  }
  out.error = drain();
  return out;
}

describe('MessageStream receive: any chunking', () => {
  for (const prefix of PREFIXES) {
    test(`decodes any messages under any chunking with \`prefix\` '${prefix}'`, () => {
      const codec = lengthPrefixed({ maxSize: 70_000, prefix });
      const body = fc.oneof(
        { weight: 8, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 69_000 }) },
      );
      fc.assert(
        fc.property(fc.array(body, { maxLength: 40 }), chunkSizes, (bodies, sizes) => {
          const { wire, sizes: wireSizes } = encodeAll(codec, bodies);
          const stream = new MessageStream(codec);
          const got = deliver(stream, chunk(wire, sizes));
          expect(got.error).toBeUndefined();
          expect(got.messages).toEqual(bodies);
          expect(got.sizes).toEqual(wireSizes);
          expect(stream.bufferedBytes).toBe(0);
        }),
        { numRuns: 150 },
      );
    });

    test(`decodes the same sequence when the sink stops at random points with \`prefix\` '${prefix}'`, () => {
      const codec = lengthPrefixed({ maxSize: 2000, prefix });
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 1990 }), { maxLength: 30 }),
          chunkSizes,
          fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
          (bodies, sizes, stops, resumeNow) => {
            const { wire, sizes: wireSizes } = encodeAll(codec, bodies);
            const stream = new MessageStream(codec);
            const got = deliver(stream, chunk(wire, sizes), stops, resumeNow);
            expect(got.error).toBeUndefined();
            expect(got.messages).toEqual(bodies);
            expect(got.sizes).toEqual(wireSizes);
            expect(stream.hasBufferedInput).toBe(false);
            expect(stream.bufferedBytes).toBe(0);
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  test('decodes typed messages of a body codec under any chunking', () => {
    const codec = lengthPrefixed(
      { maxSize: 4000, prefix: 'varint' },
      {
        encode: (text: string, sink) => {
          sink.writeUtf8(text);
        },
        decode: (body) => new TextDecoder().decode(body),
      },
    );
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 300 }), { maxLength: 30 }),
        chunkSizes,
        (texts, sizes) => {
          const { wire, sizes: wireSizes } = encodeAll(codec, texts);
          const got = deliver(new MessageStream(codec), chunk(wire, sizes));
          expect(got.messages).toEqual(texts);
          expect(got.sizes).toEqual(wireSizes);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('decodes fixed-size messages under any chunking, with and without sink stops', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 200 }),
        chunkSizes,
        fc.array(fc.boolean(), { maxLength: 10 }),
        fc.array(fc.boolean(), { maxLength: 5 }),
        (values, sizes, stops, resumeNow) => {
          const { wire } = encodeAll(ping, values);
          const got = deliver(new MessageStream(ping), chunk(wire, sizes), stops, resumeNow);
          expect(got.error).toBeUndefined();
          expect(got.messages).toEqual(values);
          expect(got.sizes).toEqual(values.map(() => 8));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('decodes under any chunking with a codec that looks ahead before answering', () => {
    // Messages end with 0; the codec answers only once it sees the byte after the 0 (or says
    // incomplete), so it completes messages inside bytes it earlier called incomplete.
    const lookahead: Codec<number[]> = {
      maxSize: 64,
      encode(m, sink) {
        for (const b of m) sink.writeU8(b);
        return sink.writeU8(0) + m.length;
      },
      decode(bytes): DecodeResult<number[]> {
        const end = bytes.indexOf(0);
        if (end < 0 || end + 1 >= bytes.length) return incomplete();
        return decoded([...bytes.subarray(0, end)], end + 1);
      },
    };
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 20 }), { maxLength: 30 }),
        chunkSizes,
        fc.array(fc.boolean(), { maxLength: 6 }),
        (messages, sizes, stops) => {
          const { wire, sizes: wireSizes } = encodeAll(lookahead, [...messages, [9]]);
          const got = deliver(new MessageStream(lookahead), chunk(wire, sizes), stops);
          expect(got.error).toBeUndefined();
          // The last message is never delivered: nothing follows it.
          expect(got.messages).toEqual(messages);
          expect(got.sizes).toEqual(wireSizes.slice(0, -1));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('MessageStream receive: arbitrary input', () => {
  const codecs: [string, Codec<unknown>][] = [
    ...PREFIXES.map((p): [string, Codec<unknown>] => [
      `lengthPrefixed ${p}`,
      lengthPrefixed({ maxSize: 300, prefix: p }),
    ]),
    ['fixed-size', ping],
  ];
  for (const [name, codec] of codecs) {
    test(`arbitrary bytes never throw and yield messages and/or exactly one violation (${name})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 20 }),
          fc.array(fc.boolean(), { maxLength: 4 }),
          fc.integer({ min: 1, max: 3 }),
          (chunks, stops, rxBufMaxSize) => {
            const stream = new MessageStream(codec, { rxBufMaxSize });
            let n = 0;
            let error: PeerlinkError | undefined;
            const sink = (_m: unknown, size: number) => {
              expect(error).toBeUndefined(); // nothing is delivered after a violation
              expect(size).toBeGreaterThan(0);
              expect(size).toBeLessThanOrEqual(codec.maxSize);
              return stops.length === 0 || !stops[n++ % stops.length];
            };
            for (const c of chunks) {
              let e = stream.handleData(c, sink, 0);
              while (e === undefined && stream.hasBufferedInput) e = stream.resumeReceive(sink, 0);
              if (e !== undefined) {
                if (error !== undefined) expect(e).toBe(error); // one violation, repeated
                error = e;
                expect(e.code).toMatch(
                  /^ERR_(MALFORMED_MESSAGE|RX_LIMIT|MESSAGE_TOO_LARGE|CODEC_FAILURE)$/,
                );
                expect(stream.bufferedBytes).toBe(0);
              } else {
                // Only input held back for the sink may take the buffer past the limit.
                expect(stream.hasBufferedInput).toBe(false);
                expect(stream.bufferedBytes).toBeLessThan(stream.config.rxLimit);
                expect(stream.rxCapacity).toBeLessThanOrEqual(stream.config.rxLimit);
              }
            }
            expect(stream.error).toBe(error);
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

describe('MessageStream receive: limits', () => {
  for (const prefix of PREFIXES) {
    test(`a declared length above \`maxSize\` is ERR_MALFORMED_MESSAGE once the '${prefix}' prefix is read`, () => {
      const maxSize = 1000;
      const codec = lengthPrefixed({ maxSize, prefix });
      // A valid prefix of a frame one byte too long: encode a body of the largest legal size + 1
      // and keep only its prefix.
      const bodyLength = maxSize - (prefix === 'varint' ? 2 : 4) + 1;
      const frame = new Uint8Array(bodyLength + 4);
      const prefixLength = prefix === 'varint' ? 2 : 4;
      if (prefix === 'varint') frame.set([(bodyLength % 128) | 0x80, bodyLength >> 7]);
      else new DataView(frame.buffer).setUint32(0, bodyLength, prefix === 'u32le');
      const stream = new MessageStream(codec);
      for (let i = 0; i < prefixLength - 1; i++) {
        expect(stream.handleData(frame.subarray(i, i + 1), () => {}, 0)).toBeUndefined();
      }
      const error = stream.handleData(frame.subarray(prefixLength - 1, prefixLength), () => {}, 0);
      expect(error?.code).toBe('ERR_MALFORMED_MESSAGE');
      expect(stream.bufferedBytes).toBe(0);
    });
  }

  test('a frame of exactly `maxSize` split byte by byte is delivered', () => {
    const codec = lengthPrefixed({ maxSize: 100 });
    const { wire } = encodeAll(codec, [new Uint8Array(96).fill(3)]);
    const got = deliver(new MessageStream(codec), chunk(wire, [1]));
    expect(got.error).toBeUndefined();
    expect(got.sizes).toEqual([100]);
  });

  test('a codec that never finds a message end is ERR_RX_LIMIT once `rxBufMaxSize` × `maxSize` bytes are held', () => {
    const stream = new MessageStream(neverEnding(100), { rxBufMaxSize: 2 });
    expect(stream.config.rxLimit).toBe(200);
    for (let i = 1; i < 200; i++) {
      expect(stream.handleData(Uint8Array.of(i), () => {}, 0)).toBeUndefined();
      expect(stream.bufferedBytes).toBe(i);
      expect(stream.rxCapacity).toBeLessThanOrEqual(200);
    }
    expect(stream.handleData(Uint8Array.of(0), () => {}, 0)?.code).toBe('ERR_RX_LIMIT');
    expect(stream.bufferedBytes).toBe(0);
  });

  test('a chunk bigger than the receive limit with no message end fails without buffering it', () => {
    const stream = new MessageStream(neverEnding(100));
    expect(stream.handleData(new Uint8Array(65536), () => {}, 0)?.code).toBe('ERR_RX_LIMIT');
    expect(stream.rxCapacity).toBe(0);
  });

  test('a partial message fed large chunks never takes the buffer past the limit', () => {
    const stream = new MessageStream(neverEnding(1000), { rxBufMaxSize: 3 });
    expect(stream.handleData(new Uint8Array(10), () => {}, 0)).toBeUndefined();
    expect(stream.handleData(new Uint8Array(65536), () => {}, 0)?.code).toBe('ERR_RX_LIMIT');
    expect(stream.rxCapacity).toBe(0);
  });

  test('the reassembly buffer grows with what arrived, not with the declared length', () => {
    // A codec whose messages are copies (a body codec): its partial message shares the reusable
    // reassembly buffer. (The raw codec's split frame gets a buffer of its own: retain.test.ts.)
    const codec = lengthPrefixed(
      { maxSize: 16 * 1024 * 1024 },
      { encode: () => {}, decode: (body: Uint8Array) => body.length },
    );
    const stream = new MessageStream(codec);
    const prefix = Uint8Array.of(0x00, 0xff, 0xff, 0xf0); // declares almost 16 MiB
    expect(stream.handleData(prefix, () => {}, 0)).toBeUndefined();
    expect(stream.handleData(new Uint8Array(100), () => {}, 0)).toBeUndefined();
    expect(stream.bufferedBytes).toBe(104);
    expect(stream.rxCapacity).toBe(4096);
  });

  test('every call after a violation returns the same error and delivers nothing', () => {
    const codec = lengthPrefixed({ maxSize: 10 });
    const stream = new MessageStream(codec);
    const error = stream.handleData(Uint8Array.of(0, 0, 1, 0), () => {}, 0);
    expect(error?.code).toBe('ERR_MALFORMED_MESSAGE');
    const { wire } = encodeAll(codec, [Uint8Array.of(1)]);
    const sink = () => {
      throw new Error('delivered after a violation');
    };
    expect(stream.handleData(wire, sink, 0)).toBe(error);
    expect(stream.resumeReceive(sink, 0)).toBe(error);
    expect(stream.error).toBe(error);
  });
});

describe('MessageStream receive: defensive codec rules', () => {
  const thrown = new Error('boom');
  const bad: [string, (bytes: Uint8Array) => DecodeResult<number>, string][] = [
    [
      'throws',
      () => {
        throw thrown;
      },
      'ERR_CODEC_FAILURE',
    ],
    ['consumes 0', () => decoded(1, 0), 'ERR_CODEC_FAILURE'],
    ['consumes a negative count', () => decoded(1, -1), 'ERR_CODEC_FAILURE'],
    ['consumes NaN', () => decoded(1, Number.NaN), 'ERR_CODEC_FAILURE'],
    ['consumes a fraction', () => decoded(1, 1.5), 'ERR_CODEC_FAILURE'],
    ['consumes more than given', (b) => decoded(1, b.length + 1), 'ERR_CODEC_FAILURE'],
    [
      'consumes more than `maxSize`',
      (b) => decoded(1, Math.min(b.length, 9)),
      'ERR_MESSAGE_TOO_LARGE',
    ],
    ['returns undefined', () => undefined as unknown as DecodeResult<number>, 'ERR_CODEC_FAILURE'],
    [
      'returns an unknown kind',
      () => ({ kind: 'other' }) as unknown as DecodeResult<number>,
      'ERR_CODEC_FAILURE',
    ],
    ['reports malformed', () => malformed('nope'), 'ERR_MALFORMED_MESSAGE'],
  ];

  /** A codec of 1-byte messages whose decode misbehaves on a byte 0xff. */
  function faulty(misbehave: (bytes: Uint8Array) => DecodeResult<number>): Codec<number> {
    return {
      maxSize: 4,
      encode: (m, sink) => sink.writeU8(m),
      decode: (bytes) => {
        if (bytes.length === 0) return incomplete();
        if (bytes[0] === 0xff) return misbehave(bytes);
        if (bytes[0] === 0xfe && bytes.length < 2) return incomplete(); // to make a partial
        return decoded(bytes[0]!, bytes[0] === 0xfe ? 2 : 1);
      },
    };
  }

  for (const [what, misbehave, code] of bad) {
    test(`a decode that ${what} is ${code} for that stream only`, () => {
      const stream = new MessageStream(faulty(misbehave));
      const other = new MessageStream(faulty(() => decoded(7, 1)));
      const got: number[] = [];
      const input = Uint8Array.of(1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 3);
      const error = stream.handleData(
        input,
        (m) => {
          got.push(m);
        },
        0,
      );
      expect(error?.code).toBe(code);
      if (what === 'throws') expect(error?.cause).toBe(thrown);
      expect(got).toEqual([1, 2]); // messages before the fault are delivered
      // Another stream is unaffected.
      const otherGot: number[] = [];
      expect(
        other.handleData(
          input,
          (m) => {
            otherGot.push(m);
          },
          0,
        ),
      ).toBeUndefined();
      expect(otherGot.length).toBe(input.length);
    });

    test(`a decode that ${what} while completing a partial message is ${code}`, () => {
      const stream = new MessageStream(faulty(misbehave));
      expect(stream.handleData(Uint8Array.of(0xfe), () => {}, 0)).toBeUndefined();
      expect(stream.bufferedBytes).toBe(1);
      // The pending 0xfe needs one more byte; make the codec misbehave on the buffered view.
      const codec = faulty(misbehave);
      const s2 = new MessageStream<number>({
        ...codec,
        decode: (b) =>
          b.length >= 2 && b[0] === 0xfe
            ? misbehave(Uint8Array.of(0xff, ...b.subarray(1)))
            : codec.decode(b),
      });
      expect(s2.handleData(Uint8Array.of(0xfe), () => {}, 0)).toBeUndefined();
      expect(
        s2.handleData(
          Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
          () => {},
          0,
        )?.code,
      ).toBe(code);
      expect(s2.bufferedBytes).toBe(0);
    });
  }
});

describe('MessageStream receive: zero copy', () => {
  /** Wraps `ping`, recording the ArrayBuffer of every view handed to decode. */
  function spying(): { codec: Codec<bigint>; buffers: ArrayBufferLike[] } {
    const buffers: ArrayBufferLike[] = [];
    return {
      buffers,
      codec: {
        ...ping,
        decode: (bytes) => {
          buffers.push(bytes.buffer);
          return ping.decode(bytes);
        },
      },
    };
  }

  test('decodes whole messages from the chunk itself when no partial message is pending', () => {
    const { codec, buffers } = spying();
    const stream = new MessageStream(codec);
    const { wire } = encodeAll(ping, [1n, 2n, 3n]);
    const got: bigint[] = [];
    stream.handleData(
      wire,
      (m) => {
        got.push(m);
      },
      0,
    );
    expect(got).toEqual([1n, 2n, 3n]);
    expect(buffers.length).toBeGreaterThanOrEqual(3);
    for (const b of buffers) expect(b).toBe(wire.buffer);
    expect(stream.rxCapacity).toBe(0); // nothing was copied
  });

  test('copies only the partial tail, then decodes the rest from the next chunk', () => {
    const { codec, buffers } = spying();
    const stream = new MessageStream(codec);
    const { wire } = encodeAll(ping, [1n, 2n, 3n, 4n]);
    const first = wire.slice(0, 12); // one whole message and 4 bytes of the next
    const second = wire.slice(12);
    stream.handleData(first, () => {}, 0);
    expect(stream.bufferedBytes).toBe(4);
    buffers.length = 0;
    const got: bigint[] = [];
    stream.handleData(
      second,
      (m) => {
        got.push(m);
      },
      0,
    );
    expect(got).toEqual([2n, 3n, 4n]);
    // The first decode completes the partial message in the reassembly buffer; every later one
    // reads straight from the chunk.
    expect(buffers[0]).not.toBe(second.buffer);
    for (const b of buffers.slice(1)) expect(b).toBe(second.buffer);
    expect(stream.bufferedBytes).toBe(0);
  });

  test('copies about what a pending message needs from a large chunk, not the whole chunk', () => {
    const codec = lengthPrefixed({ maxSize: 1024 * 1024 });
    const stream = new MessageStream(codec);
    const { wire } = encodeAll(
      codec,
      Array.from({ length: 8000 }, () => new Uint8Array(8)),
    );
    // 2 bytes of a 12-byte frame pending, then 64 KiB of whole frames behind the rest of it.
    stream.handleData(wire.slice(0, 2), () => {}, 0);
    let count = 0;
    stream.handleData(
      wire.slice(2, 65536),
      () => {
        count++;
      },
      0,
    );
    expect(count).toBe(Math.floor(65536 / 12));
    // Never grown to the chunk's size (the raw codec's pending message gets a buffer of its own
    // frame's size).
    expect(stream.rxCapacity).toBeLessThanOrEqual(4096);
  });
});

describe('MessageStream receive: sink backpressure', () => {
  test('keeps the input after a message the sink refused, and delivers it on `resumeReceive`', () => {
    const stream = new MessageStream(ping);
    const { wire } = encodeAll(ping, [1n, 2n, 3n]);
    const got: bigint[] = [];
    stream.handleData(
      wire,
      (m) => {
        got.push(m);
        return false;
      },
      0,
    );
    expect(got).toEqual([1n]);
    expect(stream.hasBufferedInput).toBe(true);
    expect(stream.bufferedBytes).toBe(16);
    stream.resumeReceive((m) => {
      got.push(m);
      return false;
    }, 0);
    expect(got).toEqual([1n, 2n]);
    expect(stream.hasBufferedInput).toBe(true);
    stream.resumeReceive((m) => {
      got.push(m);
      return false;
    }, 0);
    expect(got).toEqual([1n, 2n, 3n]);
    expect(stream.hasBufferedInput).toBe(false);
    expect(stream.bufferedBytes).toBe(0);
  });

  test('a sink that refuses the last message of a chunk leaves nothing held back', () => {
    const stream = new MessageStream(ping);
    stream.handleData(encodeAll(ping, [1n]).wire, () => false, 0);
    expect(stream.hasBufferedInput).toBe(false);
  });

  test('held-back input may exceed the receive limit by one chunk', () => {
    const stream = new MessageStream(ping);
    expect(stream.config.rxLimit).toBe(8);
    const values = Array.from({ length: 100 }, (_, i) => BigInt(i));
    const { wire } = encodeAll(ping, values);
    stream.handleData(wire, () => false, 0);
    expect(stream.bufferedBytes).toBe(99 * 8);
    const got: bigint[] = [];
    expect(
      stream.resumeReceive((m) => {
        got.push(m);
      }, 0),
    ).toBeUndefined();
    expect(got).toEqual(values.slice(1));
    expect(stream.rxCapacity).toBe(0); // the excess is given back once delivered
  });

  test('chunks that arrive while input is held back are kept, in order', () => {
    const stream = new MessageStream(ping);
    const { wire } = encodeAll(ping, [1n, 2n, 3n, 4n]);
    const got: bigint[] = [];
    stream.handleData(
      wire.subarray(0, 13),
      (m) => {
        got.push(m);
        return false;
      },
      0,
    );
    stream.handleData(
      wire.subarray(13),
      () => {
        throw new Error('delivered while held back');
      },
      0,
    );
    expect(stream.bufferedBytes).toBe(24);
    stream.resumeReceive((m) => {
      got.push(m);
    }, 0);
    expect(got).toEqual([1n, 2n, 3n, 4n]);
  });

  test('`resumeReceive` without held-back input does nothing', () => {
    const stream = new MessageStream(ping);
    expect(
      stream.resumeReceive(() => {
        throw new Error('called');
      }, 0),
    ).toBeUndefined();
  });
});

describe('MessageStream receive: `messageTimeout`', () => {
  test('a started message not completed within `messageTimeout` makes the stream receive-stale', () => {
    const stream = new MessageStream(ping, { messageTimeout: 1000 });
    expect(stream.isReceiveStale(1_000_000)).toBe(false); // idle is not stale
    stream.handleData(new Uint8Array(3), () => {}, 100);
    stream.handleData(new Uint8Array(3), () => {}, 900);
    expect(stream.isReceiveStale(1100)).toBe(false);
    expect(stream.isReceiveStale(1101)).toBe(true);
  });

  test('completing the message resets the deadline', () => {
    const stream = new MessageStream(ping, { messageTimeout: 1000 });
    stream.handleData(new Uint8Array(3), () => {}, 100);
    stream.handleData(new Uint8Array(6), () => {}, 1000); // completes, 1 byte of the next
    expect(stream.isReceiveStale(1101)).toBe(false);
    expect(stream.isReceiveStale(2001)).toBe(true);
  });

  test('`messageTimeout` 0 never makes a stream receive-stale', () => {
    const stream = new MessageStream(ping);
    stream.handleData(new Uint8Array(3), () => {}, 0);
    expect(stream.isReceiveStale(Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe('MessageStream receive: a sink that throws', () => {
  test('propagates the exception and ends the stream with ERR_SINK_FAILURE', () => {
    const stream = new MessageStream(ping);
    const boom = new Error('boom');
    const { wire } = encodeAll(ping, [1n, 2n, 3n]);
    expect(() =>
      stream.handleData(
        wire,
        (m) => {
          if (m === 2n) throw boom;
        },
        0,
      ),
    ).toThrow(boom);
    expect(stream.error?.code).toBe('ERR_SINK_FAILURE');
    expect(stream.error?.cause).toBe(boom);
    expect(stream.bufferedBytes).toBe(0);
    expect(stream.handleData(wire, () => {}, 0)).toBe(stream.error);
  });
});

describe('MessageStream receive: codec result objects and chunk types', () => {
  test('a codec may refill one result object on every decode, even from inside the sink', () => {
    const codec = lengthPrefixed({ maxSize: 100 });
    const { wire, sizes } = encodeAll(codec, [
      Uint8Array.of(1),
      Uint8Array.of(2, 2),
      Uint8Array.of(3, 3, 3),
    ]);
    const other = encodeAll(codec, [new Uint8Array(50)]).wire;
    const got: [number[], number][] = [];
    new MessageStream(codec).handleData(
      wire,
      (m, size) => {
        got.push([[...m], size]);
        codec.decode(other); // refills the shared result object
      },
      0,
    );
    expect(got).toEqual([
      [[1], sizes[0]],
      [[2, 2], sizes[1]],
      [[3, 3, 3], sizes[2]],
    ]);
  });

  test('decodes a Node `Buffer` chunk in place, like a plain Uint8Array', () => {
    const buffers: ArrayBufferLike[] = [];
    const codec: Codec<bigint> = {
      ...ping,
      decode: (bytes) => {
        buffers.push(bytes.buffer);
        return ping.decode(bytes);
      },
    };
    const { wire } = encodeAll(ping, [5n, 6n]);
    const chunk = Buffer.from(wire);
    const got: bigint[] = [];
    expect(
      new MessageStream(codec).handleData(
        chunk,
        (m) => {
          got.push(m);
        },
        0,
      ),
    ).toBeUndefined();
    expect(got).toEqual([5n, 6n]);
    for (const b of buffers) expect(b).toBe(chunk.buffer);
  });
});
