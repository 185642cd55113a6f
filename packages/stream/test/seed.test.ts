// The unit tests of peerlink 0.10.0's `stream.rs` (the seed), ported with the same scenarios and
// the same expected numbers. The seed's `MessageStream` reads from a socket itself; ours is handed
// chunks, so "a read of N bytes" becomes "a chunk of N bytes", and the wire is what
// `pollTransmit` hands to the transport.
import { ByteSink } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import { describe, expect, test } from 'vitest';
import { concat, encodeAll, hintedPing, ping } from './helpers.js';

const U64_MAX = 2n ** 64n - 1n;

describe('seed: reassemble_message_whole_reads', () => {
  test('delivers each whole message of a read with its wire size of 8', () => {
    const { wire } = encodeAll(ping, [0n, 1n]);
    const stream = new MessageStream(ping);
    const received: bigint[] = [];
    const sink = (message: bigint, size: number) => {
      expect(size).toBe(8);
      received.push(message);
    };
    // The seed's reads are capped at rx_buf_max_size (8 bytes): one message per read.
    expect(stream.handleData(wire.subarray(0, 8), sink, 0)).toBeUndefined();
    expect(received).toEqual([0n]);
    expect(stream.handleData(wire.subarray(8, 16), sink, 0)).toBeUndefined();
    expect(received).toEqual([0n, 1n]);
    // All 16 bytes consumed, nothing left in the reassembly buffer. (The seed's third read then
    // sees end of stream; in ours that is the transport's `onEnd`, not the core's business.)
    expect(stream.bufferedBytes).toBe(0);
    expect(stream.rxCapacity).toBe(0);
  });

  test('delivers both messages of one 16-byte read in order', () => {
    const { wire } = encodeAll(ping, [0n, 1n]);
    const stream = new MessageStream(ping);
    const received: [bigint, number][] = [];
    stream.handleData(
      wire,
      (m, size) => {
        received.push([m, size]);
      },
      0,
    );
    expect(received).toEqual([
      [0n, 8],
      [1n, 8],
    ]);
    expect(stream.bufferedBytes).toBe(0);
  });
});

describe('seed: reassemble_message_partial_reads', () => {
  test('keeps the first 4 bytes, then completes the message from the next read', () => {
    const { wire } = encodeAll(ping, [U64_MAX - 1n, U64_MAX]);
    const stream = new MessageStream(ping);
    const received: bigint[] = [];
    const sink = (message: bigint, size: number) => {
      expect(size).toBe(8);
      received.push(message);
    };
    stream.handleData(wire.subarray(0, 4), sink, 0);
    expect(received).toEqual([]);
    expect(stream.bufferedBytes).toBe(4);
    // The seed reads into an 8-byte buffer: bytes 4..12, then 12..16.
    stream.handleData(wire.subarray(4, 12), sink, 0);
    expect(received).toEqual([U64_MAX - 1n]);
    stream.handleData(wire.subarray(12), sink, 0);
    expect(received).toEqual([U64_MAX - 1n, U64_MAX]);
    expect(stream.bufferedBytes).toBe(0);
  });

  test('keeps the first 4 bytes, then delivers both messages from the rest', () => {
    const { wire } = encodeAll(ping, [U64_MAX - 1n, U64_MAX]);
    const stream = new MessageStream(ping);
    const received: bigint[] = [];
    stream.handleData(
      wire.subarray(0, 4),
      (m) => {
        received.push(m);
      },
      0,
    );
    expect(stream.bufferedBytes).toBe(4);
    stream.handleData(
      wire.subarray(4),
      (m) => {
        received.push(m);
      },
      0,
    );
    expect(received).toEqual([U64_MAX - 1n, U64_MAX]);
    expect(stream.bufferedBytes).toBe(0);
  });
});

describe('seed: send_message', () => {
  test('puts 3 Pings queued under `txBufMaxSize` 3 on the wire as 24 bytes equal to the buffer', () => {
    const stream = new MessageStream(ping, { txBufMaxSize: 3 });
    expect(stream.queue(0n, 0)).toBe(true);
    expect(stream.queue(1n, 0)).toBe(true);
    expect(stream.queue(2n, 0)).toBe(true);
    const expected = encodeAll(ping, [0n, 1n, 2n]).wire;
    expect(stream.queuedBytes).toBe(24);
    const wire: Uint8Array[] = [];
    for (let b = stream.pollTransmit(0); b !== undefined; b = stream.pollTransmit(0)) wire.push(b);
    expect(concat(wire).length).toBe(24);
    expect(concat(wire)).toEqual(expected);
    expect(stream.hasQueuedData).toBe(false);
  });
});

describe('seed: send_message_buf_full', () => {
  // The seed's limit is `txBufMaxSize × maxSize` = 8 bytes. Ours also has a byte floor,
  // `txBufMaxFloor` (default 64 KiB, so that tiny codecs still batch); 0 turns it off and gives the
  // seed's numbers.
  const config = { txBufMinSize: 1, txBufMaxSize: 1, txBufMaxFloor: 0 };

  test('refuses a second Ping once the first fills `txBufMaxSize` 1 (no size hint)', () => {
    const stream = new MessageStream(ping, config);
    expect(stream.config.txLimit).toBe(8);
    expect(stream.queue(0n, 0)).toBe(true);
    expect(stream.queue(1n, 0)).toBe(false);
    const bufferLength = stream.queuedBytes;
    const expected = encodeAll(ping, [0n]).wire;
    const wire = stream.pollTransmit(0)!;
    expect(wire.length).toBe(bufferLength);
    expect(wire).toEqual(expected);
  });

  test('admits a hinted Ping that exactly fills the buffer (the seed’s `>=` would refuse it)', () => {
    // Seed: `size_hint + len >= max` refuses 8 + 0 >= 8. Exactly filling is admitted here.
    const stream = new MessageStream(hintedPing, config);
    expect(stream.queue(0n, 0)).toBe(true);
    expect(stream.queue(1n, 0)).toBe(false);
    expect(stream.queuedBytes).toBe(8);
  });
});

describe('seed: the send path over many flushes', () => {
  test('hands the transport exactly the encoded bytes across buffer growth', () => {
    // Regression for an offset bug when the send buffer grew after bytes had been taken.
    const stream = new MessageStream(ping, { txBufMinSize: 16 });
    const sink = new ByteSink();
    const wire: Uint8Array[] = [];
    for (let i = 0n; i < 5000n; i++) {
      expect(stream.queue(i, 0)).toBe(true);
      ping.encode(i, sink);
      if (i % 7n === 0n) wire.push(stream.pollTransmit(0)!);
    }
    const rest = stream.pollTransmit(0);
    if (rest !== undefined) wire.push(rest);
    expect(concat(wire)).toEqual(sink.peek());
  });
});
