import { type Codec, decoded, incomplete, malformed } from '@peerlink/codec';

/**
 * Frames of one length byte `L` (1–255) then `L` body bytes; a message is the body (copied).
 * A body whose first byte is one of the {@link Trap} bytes makes `decode` misbehave in that way,
 * so that a test can make one peer's input break the codec contract while others stay valid.
 */
export const Trap = {
  THROW: 0xf0,
  CONSUME_ZERO: 0xf1,
  CONSUME_NEGATIVE: 0xf2,
  CONSUME_NAN: 0xf3,
  CONSUME_TOO_MANY: 0xf4,
  MALFORMED: 0xf5,
  /** Returns `undefined` instead of a result. */
  NO_RESULT: 0xf6,
  /** Claims a 300-byte message (above `maxSize`) once 300 bytes are there. */
  OVERSIZE: 0xf7,
} as const;

export class TrapError extends Error {
  readonly code = 'TRAP';
}

export const trapCodec: Codec<Uint8Array> = {
  maxSize: 256,
  encode(message, sink) {
    sink.writeBytes(Uint8Array.of(message.length));
    sink.writeBytes(message);
    return message.length + 1;
  },
  decode(bytes) {
    if (bytes.length < 1) return incomplete();
    const length = bytes[0]!;
    if (length === 0) return malformed('empty frame');
    if (bytes.length < 1 + length) return incomplete();
    switch (bytes[1]) {
      case Trap.THROW:
        throw new TrapError('decode trap');
      case Trap.CONSUME_ZERO:
        return decoded(new Uint8Array(0), 0);
      case Trap.CONSUME_NEGATIVE:
        return decoded(new Uint8Array(0), -5);
      case Trap.CONSUME_NAN:
        return decoded(new Uint8Array(0), Number.NaN);
      case Trap.CONSUME_TOO_MANY:
        return decoded(new Uint8Array(0), bytes.length + 1);
      case Trap.MALFORMED:
        return malformed('trap');
      case Trap.NO_RESULT:
        return undefined as unknown as ReturnType<Codec<Uint8Array>['decode']>;
      case Trap.OVERSIZE:
        return bytes.length < 300 ? incomplete() : decoded(new Uint8Array(0), 300);
      default:
        return decoded(bytes.slice(1, 1 + length), 1 + length);
    }
  },
  sizeHint: (message) => message.length + 1,
};

/** Encodes one {@link trapCodec} frame. */
export function trapFrame(body: Uint8Array | number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const out = new Uint8Array(b.length + 1);
  out[0] = b.length;
  out.set(b, 1);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
