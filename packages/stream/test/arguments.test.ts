import { type Codec, lengthPrefixed } from '@peerlink/codec';
import { formatAddress, MessageStream, parseAddress, resolveStreamConfig } from '@peerlink/stream';
import { describe, expect, test } from 'vitest';

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): { code?: string; message?: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  throw new Error('expected a throw');
}

const raw = lengthPrefixed({ maxSize: 1024 });
const sink = () => {};
const any = (v: unknown) => v as never;

describe('the raw-bytes codec', () => {
  test('refuses a message that is not a Uint8Array with `ERR_INVALID_ARGUMENT` instead of sending zeros', () => {
    const stream = new MessageStream(raw);
    const error = thrown(() => stream.queue(any({ length: 5 }), 0));
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message?.startsWith('message:')).toBe(true);
    // Nothing was queued: no zeros go out.
    expect(stream.hasQueuedData).toBe(false);
    expect(stream.pollTransmit(0)).toBeUndefined();
  });

  test('refuses it in `encode` and `sizeHint` too, for every prefix', () => {
    for (const prefix of ['u32be', 'u32le', 'varint'] as const) {
      const codec = lengthPrefixed({ maxSize: 1024, prefix });
      for (const bad of [{ length: 5 }, 'hello', [1, 2, 3], null, 5]) {
        expect(thrown(() => codec.sizeHint!(any(bad))).code).toBe('ERR_INVALID_ARGUMENT');
        const stream = new MessageStream(codec);
        expect(thrown(() => stream.queue(any(bad), 0)).code).toBe('ERR_INVALID_ARGUMENT');
        expect(stream.queuedBytes).toBe(0);
      }
    }
  });

  test('still sends a Buffer (a Uint8Array) as it is', () => {
    const stream = new MessageStream(raw);
    expect(stream.queue(Buffer.from('hi'), 0)).toBe(true);
    expect([...stream.pollTransmit(0)!]).toEqual([0, 0, 0, 2, 104, 105]);
  });
});

describe('wrong argument types answer `ERR_INVALID_ARGUMENT` naming the argument', () => {
  const stream = () => new MessageStream(raw);
  const chunk = new Uint8Array(4);
  const cases: Array<[string, string, () => unknown]> = [
    ['new MessageStream(null)', 'codec', () => new MessageStream(any(null))],
    ['new MessageStream({})', 'codec', () => new MessageStream(any({ maxSize: 10 }))],
    ['new MessageStream(codec, 5)', 'config', () => new MessageStream(raw, any(5))],
    ['handleData(string)', 'chunk', () => stream().handleData(any('abc'), sink, 0)],
    ['handleData({ length })', 'chunk', () => stream().handleData(any({ length: 4 }), sink, 0)],
    ['handleData(chunk, null)', 'sink', () => stream().handleData(chunk, any(null), 0)],
    ['handleData(chunk, sink, "0")', 'now', () => stream().handleData(chunk, sink, any('0'))],
    ['resumeReceive(null, 0)', 'sink', () => stream().resumeReceive(any(null), 0)],
    ['resumeReceive(sink, NaN)', 'now', () => stream().resumeReceive(sink, Number.NaN)],
    ['queue(m, undefined)', 'now', () => stream().queue(Uint8Array.of(1), any(undefined))],
    ['pollTransmit("x")', 'now', () => stream().pollTransmit(any('x'))],
    ['handleBlocked(undefined)', 'now', () => stream().handleBlocked(any(undefined))],
    ['handleDrain(null)', 'now', () => stream().handleDrain(any(null))],
    ['isWriteStale()', 'now', () => stream().isWriteStale(any(undefined))],
    ['isReceiveStale("1")', 'now', () => stream().isReceiveStale(any('1'))],
    ['setCodec(null)', 'codec', () => stream().setCodec(any(null))],
    ['decodeBuffered(null, 0)', 'sink', () => stream().decodeBuffered(any(null), 0)],
    [
      'decodeBuffered(sink) without now',
      'now',
      () => stream().decodeBuffered(sink, any(undefined)),
    ],
    ['handleProgress("1")', 'now', () => stream().handleProgress(any('1'))],
    ['parseAddress(42)', 'address', () => parseAddress(any(42))],
    ['parseAddress({})', 'address', () => parseAddress(any({}))],
    ['formatAddress(1, 2)', 'host', () => formatAddress(any(1), 2)],
    ['formatAddress("h", 70000)', 'port', () => formatAddress('h', 70000)],
    ['formatAddress("h", "80")', 'port', () => formatAddress('h', any('80'))],
    ['resolveStreamConfig(10, null)', 'options', () => resolveStreamConfig(10, any(null))],
    ['lengthPrefixed(null)', 'options', () => lengthPrefixed(any(null))],
    ['lengthPrefixed(options, 5)', 'body', () => lengthPrefixed({ maxSize: 10 }, any(5))],
  ];
  for (const [call, name, fn] of cases) {
    test(`${call} names \`${name}\``, () => {
      const error = thrown(fn);
      expect(error.code).toBe('ERR_INVALID_ARGUMENT');
      expect(error.message?.startsWith(`${name}:`)).toBe(true);
    });
  }

  test('a missing `now` is refused, not taken as 0', () => {
    const s = stream();
    const call = s.handleData.bind(s) as unknown as (c: Uint8Array, k: typeof sink) => unknown;
    expect(thrown(() => call(chunk, sink)).code).toBe('ERR_INVALID_ARGUMENT');
  });

  test('a codec that refuses a message type passes its `ERR_INVALID_ARGUMENT` through `queue`', () => {
    const picky: Codec<number> = {
      maxSize: 8,
      encode: () => {
        throw thrownInvalid();
      },
      decode: () => ({ kind: 'incomplete' }),
    };
    expect(thrown(() => new MessageStream(picky).queue(1, 0)).code).toBe('ERR_INVALID_ARGUMENT');
  });
});

function thrownInvalid(): Error {
  return thrown(() => parseAddress(any(1))) as Error;
}
