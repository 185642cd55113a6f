import {
  ByteSink,
  type Codec,
  type DecodeResult,
  decoded,
  incomplete,
  readU64LE,
} from '@peerlink/codec';

/** The seed's `Ping(u64)`: 8 bytes little-endian, `MAX_SIZE` 8, no size hint. */
export const ping: Codec<bigint> = {
  maxSize: 8,
  encode(value, sink) {
    return sink.writeU64LE(value);
  },
  decode(bytes): DecodeResult<bigint> {
    if (bytes.length < 8) return incomplete();
    return decoded(readU64LE(bytes, 0), 8);
  },
};

/** {@link ping} with a size hint (8). */
export const hintedPing: Codec<bigint> = { ...ping, sizeHint: () => 8 };

/** Encodes `messages` back to back with `codec`; returns the wire bytes and each message's size. */
export function encodeAll<M>(
  codec: Codec<M>,
  messages: M[],
): { wire: Uint8Array; sizes: number[] } {
  const sink = new ByteSink({ initialCapacity: 64 });
  const sizes = messages.map((m) => codec.encode(m, sink));
  return { wire: sink.peek().slice(), sizes };
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `wire` into chunks of the given sizes (cycled), each a fresh copy in its own memory. */
export function chunk(wire: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let i = 0;
  while (at < wire.length) {
    const n = Math.max(1, sizes.length === 0 ? wire.length : sizes[i++ % sizes.length]!);
    out.push(wire.slice(at, at + n));
    at += n;
  }
  return out;
}

/** A codec that never finds a message end. */
export function neverEnding(maxSize: number): Codec<never> {
  return {
    maxSize,
    encode: () => 0,
    decode: () => incomplete(),
  };
}
