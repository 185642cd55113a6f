import { lengthPrefixed, type PeerlinkError } from '@peerlink/codec';
import {
  DEFAULT_STREAM_CONFIG,
  MessageStream,
  resolveStreamConfig,
  type StreamConfigOptions,
} from '@peerlink/stream';
import { describe, expect, test } from 'vitest';

function caught(fn: () => unknown): PeerlinkError {
  try {
    fn();
  } catch (error) {
    return error as PeerlinkError;
  }
  throw new Error('did not throw');
}

describe('StreamConfig defaults', () => {
  test('match SPEC §4 (peerlink 0.10.0) plus the 64 KiB send-limit floor', () => {
    expect(DEFAULT_STREAM_CONFIG).toEqual({
      rxBufMinSize: 4096,
      rxBufMaxSize: 1,
      txBufMinSize: 4096,
      txBufMaxSize: 2,
      txBufMaxFloor: 65536,
      txTimeout: 30_000,
      connectTimeout: 5_000,
      messageTimeout: 0,
    });
    expect(Object.isFrozen(DEFAULT_STREAM_CONFIG)).toBe(true);
  });

  test('resolve the limits in bytes for a codec’s `maxSize`', () => {
    const c = resolveStreamConfig(1024 * 1024);
    expect(c).toMatchObject({
      rxBufMinSize: 4096,
      txBufMinSize: 4096,
      maxSize: 1024 * 1024,
      rxLimit: 1024 * 1024,
      txLimit: 2 * 1024 * 1024,
      txTimeout: 30_000,
      connectTimeout: 5_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('cap the default buffer floors at the limits of a small codec', () => {
    const c = resolveStreamConfig(12, { txBufMaxFloor: 0 });
    expect(c.rxLimit).toBe(12);
    expect(c.rxBufMinSize).toBe(12);
    expect(c.txLimit).toBe(24);
    expect(c.txBufMinSize).toBe(24);
  });

  test('`rxBufMaxSize` and `txBufMaxSize` are multiples of `maxSize`', () => {
    const c = resolveStreamConfig(1000, { rxBufMaxSize: 3, txBufMaxSize: 255 });
    expect(c.rxLimit).toBe(3000);
    expect(c.txLimit).toBe(255_000);
  });

  test('a MessageStream resolves its options against the codec’s `maxSize`', () => {
    const stream = new MessageStream(lengthPrefixed({ maxSize: 500 }), { rxBufMaxSize: 2 });
    expect(stream.config.rxLimit).toBe(1000);
    const resolved = resolveStreamConfig(500, { txTimeout: 5 });
    expect(new MessageStream(lengthPrefixed({ maxSize: 500 }), resolved).config).toBe(resolved);
  });
});

describe('StreamConfig validation', () => {
  const invalid: [keyof StreamConfigOptions, number[]][] = [
    ['rxBufMinSize', [0, -1, 1.5, Number.NaN, 1001]],
    ['rxBufMaxSize', [0, 256, -1, 1.5, Number.NaN]],
    ['txBufMinSize', [0, -1, 1.5, Number.NaN, 70_000]],
    ['txBufMaxSize', [0, 256, -1, 2.5, Number.NaN]],
    ['txBufMaxFloor', [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]],
    ['txTimeout', [0, -1, Number.NaN, Number.POSITIVE_INFINITY]],
    // Infinity is "no timeout"; a finite value past the longest timer would fire at once.
    ['connectTimeout', [0, -1, Number.NaN, 2 ** 31]],
    ['messageTimeout', [-1, Number.NaN, Number.POSITIVE_INFINITY]],
  ];
  for (const [field, values] of invalid) {
    test(`rejects an invalid \`${field}\` with ERR_INVALID_CONFIG naming the field`, () => {
      for (const value of values) {
        // maxSize 1000: rxLimit 1000, txLimit 65 536.
        const error = caught(() => resolveStreamConfig(1000, { [field]: value }));
        expect(error.code).toBe('ERR_INVALID_CONFIG');
        expect(error.message.startsWith(`${field}:`)).toBe(true);
      }
    });
  }

  test('takes `connectTimeout` up to 2^31 − 1 ms, or Infinity for none', () => {
    expect(resolveStreamConfig(1000, { connectTimeout: 2 ** 31 - 1 }).connectTimeout).toBe(
      2 ** 31 - 1,
    );
    const none = resolveStreamConfig(1000, { connectTimeout: Number.POSITIVE_INFINITY });
    expect(none.connectTimeout).toBe(Number.POSITIVE_INFINITY);
  });

  test('rejects a codec `maxSize` that is not a positive integer, naming `maxSize`', () => {
    for (const maxSize of [0, -1, 1.5, Number.NaN]) {
      const error = caught(() => resolveStreamConfig(maxSize));
      expect(error.code).toBe('ERR_INVALID_CONFIG');
      expect(error.message.startsWith('maxSize:')).toBe(true);
    }
    const codec = { ...lengthPrefixed({ maxSize: 100 }), maxSize: 0 };
    expect(caught(() => new MessageStream(codec)).code).toBe('ERR_INVALID_CONFIG');
  });

  test('accepts the boundary values', () => {
    expect(() =>
      resolveStreamConfig(1000, {
        rxBufMinSize: 1000,
        rxBufMaxSize: 1,
        txBufMinSize: 1,
        txBufMaxSize: 255,
        txBufMaxFloor: 0,
        txTimeout: 1,
        connectTimeout: 1,
        messageTimeout: 0,
      }),
    ).not.toThrow();
  });
});
