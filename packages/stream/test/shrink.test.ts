import { lengthPrefixed } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import { describe, expect, test } from 'vitest';
import { concat, ping } from './helpers.js';

/**
 * Raw bodies through a body codec, which copies them (a raw `lengthPrefixed` codec's messages view
 * the receive buffer, which then goes with the message: nothing is left to shrink).
 */
const big = lengthPrefixed(
  { maxSize: 1024 * 1024 },
  { encode: (m: Uint8Array, sink) => void sink.writeBytes(m), decode: (body) => body.slice() },
);

/** Leaves `stream` with an empty reassembly buffer of `capacity` after one large message. */
function afterLargeMessage(stream: MessageStream<Uint8Array>, bodySize: number): void {
  const sink = () => {};
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, bodySize);
  stream.handleData(head, sink, 0);
  for (let sent = 0; sent < bodySize; sent += 1000) {
    expect(
      stream.handleData(new Uint8Array(Math.min(1000, bodySize - sent)), sink, 0),
    ).toBeUndefined();
  }
  expect(stream.bufferedBytes).toBe(0);
}

/** Every queued run of bytes, in order. */
function takeAll<M>(stream: MessageStream<M>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let bytes = stream.pollTransmit(0); bytes !== undefined; bytes = stream.pollTransmit(0)) {
    out.push(bytes);
  }
  return out;
}

describe('MessageStream.shrinkBuffers', () => {
  test('shrinks an empty receive buffer by a quarter per call down to `rxBufMinSize`, then releases it', () => {
    const stream = new MessageStream(big, { rxBufMinSize: 4096 });
    afterLargeMessage(stream, 100_000);
    expect(stream.rxCapacity).toBe(131_072);
    const seen: number[] = [];
    while (stream.rxCapacity > 0) {
      stream.shrinkBuffers();
      seen.push(stream.rxCapacity);
    }
    const expected: number[] = [];
    for (let cap = 131_072; cap > 4096; ) {
      cap = Math.max(4096, Math.floor(cap / 4) * 3);
      expected.push(cap);
    }
    expected.push(0);
    expect(seen).toEqual(expected);
    expect(seen.at(-2)).toBe(4096);
  });

  test('never shrinks the receive buffer below the partial message it holds', () => {
    const stream = new MessageStream(big);
    afterLargeMessage(stream, 100_000);
    const head = Uint8Array.of(0, 1, 0, 0); // a 65 536-byte body
    stream.handleData(head, () => {}, 0);
    stream.handleData(new Uint8Array(50_000), () => {}, 0);
    for (let i = 0; i < 30; i++) stream.shrinkBuffers();
    expect(stream.rxCapacity).toBe(50_004);
    const got: number[] = [];
    stream.handleData(
      new Uint8Array(65_536 - 50_000),
      (_m, size) => {
        got.push(size);
      },
      0,
    );
    expect(got).toEqual([65_540]);
  });

  test('shrinks the send buffer by a quarter per call down to `txBufMinSize`, then releases it when empty', () => {
    const stream = new MessageStream(ping, { txBufMinSize: 1024 });
    for (let i = 0; i < 8192; i++) stream.queue(BigInt(i), 0); // 64 KiB in slabs of 1, 2, … 32 KiB
    const sent = takeAll(stream);
    expect(sent.reduce((n, bytes) => n + bytes.length, 0)).toBe(65_536);
    // The slab is full, so it was let go; the next one is as large, and stays after a small batch.
    expect(stream.txCapacity).toBe(0);
    stream.queue(8192n, 0);
    sent.push(...takeAll(stream));
    const copies = sent.map((bytes) => bytes.slice());
    expect(stream.txCapacity).toBe(65_536);
    const seen: number[] = [];
    while (stream.txCapacity > 0) {
      stream.shrinkBuffers();
      seen.push(stream.txCapacity);
    }
    expect(seen.at(-2)).toBe(1024);
    expect(seen.at(-1)).toBe(0);
    expect(seen[0]).toBe(49_152);
    expect(sent).toEqual(copies); // bytes handed to the transport are untouched
  });

  test('never shrinks the send buffer below what it holds, and loses no queued byte', () => {
    const stream = new MessageStream(ping, { txBufMinSize: 1024 });
    for (let i = 0; i < 4000; i++) stream.queue(BigInt(i), 0);
    // 32,000 bytes: full slabs of 1, 2, 4, 8 and 16 KiB, then 256 bytes in a 32 KiB slab.
    expect(stream.txCapacity).toBe(32_768);
    for (let i = 0; i < 30; i++) stream.shrinkBuffers();
    expect(stream.txCapacity).toBe(1024);
    expect(stream.queuedBytes).toBe(32_000);
    stream.queue(4000n, 0);
    const bytes = concat(takeAll(stream));
    expect(bytes.length).toBe(32_008);
    for (const i of [0, 1, 127, 128, 3999, 4000]) {
      expect(ping.decode(bytes.subarray(8 * i))).toEqual({
        kind: 'message',
        message: BigInt(i),
        consumed: 8,
      });
    }
  });

  test('a stream that never carried data holds no buffers', () => {
    const stream = new MessageStream(ping);
    stream.shrinkBuffers();
    expect(stream.rxCapacity).toBe(0);
    expect(stream.txCapacity).toBe(0);
  });
});
