import { ByteSink, lengthPrefixed } from '@peerlink/codec';
import { MessageStream, resolveStreamConfig } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

/** Raw frames behind a u32 length, up to 32 MiB: Bitcoin's `maxSize`. */
const big = lengthPrefixed({ maxSize: 32 * 1024 * 1024 });

function frame(body: number): Uint8Array {
  const sink = new ByteSink();
  big.encode(new Uint8Array(body), sink);
  return sink.peek().slice();
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('limits in bytes', () => {
  test('`rxBufMaxBytes` and `txBufMaxBytes` replace the multiples of `maxSize`', () => {
    const multiples = resolveStreamConfig(32 * 1024 * 1024);
    expect(multiples.rxLimit).toBe(32 * 1024 * 1024);
    expect(multiples.txLimit).toBe(64 * 1024 * 1024);
    const bytes = resolveStreamConfig(32 * 1024 * 1024, {
      rxBufMaxBytes: 5_000_000,
      txBufMaxBytes: 1_000_000,
      rxBufMaxSize: 3,
      txBufMaxFloor: 4 * 1024 * 1024,
    });
    expect(bytes).toMatchObject({ rxLimit: 5_000_000, txLimit: 1_000_000 });
    // Smaller than `maxSize`, or than the default floors: any positive number of bytes.
    expect(resolveStreamConfig(1024, { rxBufMaxBytes: 100, txBufMaxBytes: 10 })).toMatchObject({
      rxLimit: 100,
      txLimit: 10,
      rxBufMinSize: 100,
      txBufMinSize: 10,
    });
  });

  test('refuse anything but a positive integer, naming the field', () => {
    for (const field of ['rxBufMaxBytes', 'txBufMaxBytes'] as const) {
      for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
        let message = '';
        try {
          resolveStreamConfig(1024, { [field]: bad });
        } catch (error) {
          expect((error as { code: string }).code).toBe('ERR_INVALID_CONFIG');
          message = (error as Error).message;
        }
        expect(message.startsWith(`${field}:`), `${field} ${bad}`).toBe(true);
      }
    }
  });

  test('a message larger than `rxBufMaxBytes` is refused, whole in one chunk or split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 20 }),
        (limit, split) => {
          const body = limit; // frame = body + 4 > limit
          const wire = frame(body);
          const whole = new MessageStream(big, { rxBufMaxBytes: limit });
          expect(whole.handleData(wire, () => {}, 0)?.code).toBe('ERR_RX_LIMIT');
          const parts = new MessageStream(big, { rxBufMaxBytes: limit });
          const step = Math.max(1, Math.floor(wire.length / split));
          let error: string | undefined;
          for (let at = 0; at < wire.length && error === undefined; at += step) {
            error = parts.handleData(wire.slice(at, at + step), () => {}, 0)?.code;
          }
          expect(error).toBe('ERR_RX_LIMIT');
          // Never buffered past the limit.
          expect(parts.rxCapacity).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });

  test('a message that fits `rxBufMaxBytes` is received, whatever the chunking', () => {
    const wire = frame(996); // 1000 bytes
    const stream = new MessageStream(big, { rxBufMaxBytes: 1000 });
    const got: number[] = [];
    for (let at = 0; at < wire.length; at += 7) {
      expect(
        stream.handleData(wire.slice(at, at + 7), (m) => void got.push(m.length), 0),
      ).toBeUndefined();
    }
    expect(got).toEqual([996]);
  });

  test('the send buffer refuses at `txBufMaxBytes`, and a message that can never fit throws', () => {
    const stream = new MessageStream(big, { txBufMaxBytes: 1000 });
    expect(stream.queue(new Uint8Array(496), 0)).toBe(true); // 500 bytes
    expect(stream.queue(new Uint8Array(496), 0)).toBe(true); // 1000: exactly full
    expect(stream.queue(new Uint8Array(0), 0)).toBe(false);
    expect(stream.freeBytes).toBe(0);
    expect(
      codeOf(() => new MessageStream(big, { txBufMaxBytes: 1000 }).queue(new Uint8Array(997), 0)),
    ).toBe('ERR_MESSAGE_TOO_LARGE');
  });
});
