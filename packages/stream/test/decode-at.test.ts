import { type Codec, decoded, incomplete } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import { describe, expect, test } from 'vitest';

describe('MessageStream with a codec that has `decodeAt`', () => {
  test('decodes through `decodeAt` with offsets into the chunk, never through `decode`', () => {
    const calls: Array<[number, number, number]> = [];
    // Fixed 4-byte messages: the first byte is the value.
    const codec: Codec<number> = {
      maxSize: 4,
      encode: (m, sink) => sink.writeU32BE(m),
      decode: () => {
        throw new Error('decode should not be called');
      },
      decodeAt: (bytes, offset, end) => {
        calls.push([bytes.length, offset, end]);
        return end - offset < 4 ? incomplete() : decoded(bytes[offset + 3]!, 4);
      },
    };
    const stream = new MessageStream(codec);
    const got: number[] = [];
    const chunk = Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 2, 0, 0);
    expect(stream.handleData(chunk, (m) => void got.push(m), 0)).toBeUndefined();
    expect(got).toEqual([1, 2]);
    expect(calls).toEqual([
      [10, 0, 10],
      [10, 4, 10],
      [10, 8, 10],
    ]);
    // The split message completes from the reassembly buffer, still through `decodeAt`.
    expect(stream.handleData(Uint8Array.of(0, 3), (m) => void got.push(m), 0)).toBeUndefined();
    expect(got).toEqual([1, 2, 3]);
  });

  test('holds `decodeAt` to the same contract: consuming more than it was given is a violation', () => {
    const codec: Codec<number> = {
      maxSize: 8,
      encode: (m, sink) => sink.writeU8(m),
      decode: () => incomplete(),
      decodeAt: (_bytes, offset, end) => decoded(0, end - offset + 1),
    };
    const stream = new MessageStream(codec);
    expect(stream.handleData(Uint8Array.of(1, 2), () => {}, 0)).toMatchObject({
      code: 'ERR_CODEC_FAILURE',
    });
  });
});
