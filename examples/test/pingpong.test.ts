import { ByteSink } from 'peerlink';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type PingPongServer,
  pingPongCodec,
  runPingPongClient,
  startPingPongServer,
} from '../src/pingpong.js';
import { percentile } from '../src/stats.js';

function encode(kind: 'ping' | 'pong', n: bigint): Uint8Array {
  const sink = new ByteSink();
  expect(pingPongCodec.encode({ kind, n }, sink)).toBe(12);
  return sink.peek();
}

describe('pingpong codec (the Rust example wire format)', () => {
  it('encodes ASCII `ping`/`pong` then the nonce as a u64 little-endian, 12 bytes', () => {
    expect([...encode('ping', 0x0102030405060708n)]).toEqual([
      0x70, 0x69, 0x6e, 0x67, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
    ]);
    expect(new TextDecoder().decode(encode('pong', 2n ** 64n - 1n).subarray(0, 4))).toBe('pong');
    expect([...encode('pong', 2n ** 64n - 1n).subarray(4)]).toEqual(new Array(8).fill(0xff));
  });

  it('decodes one message from the front and asks for more when short', () => {
    const two = new Uint8Array([...encode('pong', 7n), ...encode('ping', 8n)]);
    expect(pingPongCodec.decode(two)).toEqual({
      kind: 'message',
      message: { kind: 'pong', n: 7n },
      consumed: 12,
    });
    expect(pingPongCodec.decode(two.subarray(0, 11))).toEqual({ kind: 'incomplete' });
  });

  it('reports anything but `ping`/`pong` as malformed', () => {
    const bad = encode('ping', 1n);
    bad[1] = 0x61; // "pang"
    expect(pingPongCodec.decode(bad).kind).toBe('malformed');
    expect(pingPongCodec.decode(new TextEncoder().encode('hello world!')).kind).toBe('malformed');
  });
});

describe('pingpong server and client over TCP', () => {
  let server: PingPongServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('makes `count` sequential round trips and measures each', async () => {
    server = await startPingPongServer({ listen: '127.0.0.1:0' });
    const seen: number[] = [];
    const { rtts, elapsedMs } = await runPingPongClient({
      target: server.address,
      count: 200,
      onRoundTrip: (done) => seen.push(done),
    });
    expect(rtts).toHaveLength(200);
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(server.answered).toBe(200);
    expect(Math.min(...rtts)).toBeGreaterThan(0);
    expect(elapsedMs).toBeGreaterThan(0);
  });

  it('fails with the connect error when no server listens', async () => {
    server = await startPingPongServer({ listen: '127.0.0.1:0' });
    const address = server.address;
    await server.close();
    server = undefined;
    const error = await runPingPongClient({ target: address, count: 1 }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([5], 99)).toBe(5);
  });
});
