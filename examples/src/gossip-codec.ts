/**
 * The gossip mesh's wire format, shared by every gossip example (the TCP mesh, the resilient
 * mesh, the live mesh and its browser tabs), so it imports nothing from Node. Frames: u32 BE
 * length, then id u32 BE, origin u16 BE, hops u8, payload.
 */
import { type ByteSink, type Codec, lengthPrefixed } from '@peerlink/codec';

/** One gossip message. */
export interface Gossip {
  /** Unique per message (u32): what nodes remember to drop duplicates. */
  readonly id: number;
  /** The node that started it. */
  readonly origin: number;
  /** How many times it was forwarded before this copy (0 from the origin). */
  readonly hops: number;
  /** Application bytes. */
  readonly payload: Uint8Array;
}

/** The gossip codec for payloads of at most `maxPayload` bytes: frames of `4 + 7 + maxPayload`. */
export function gossipCodecFor(maxPayload: number): Codec<Gossip> {
  return lengthPrefixed<Gossip>(
    { maxSize: 4 + 7 + maxPayload },
    {
      encode(message: Gossip, sink: ByteSink) {
        sink.writeU32BE(message.id);
        sink.writeU16BE(message.origin);
        sink.writeU8(message.hops);
        sink.writeBytes(message.payload);
      },
      decode(body) {
        if (body.length < 7) return undefined;
        const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
        return {
          id: view.getUint32(0),
          origin: view.getUint16(4),
          hops: body[6]!,
          payload: body.slice(7), // a copy: `body` is only valid during this call
        };
      },
      size: (message) => 7 + message.payload.length,
    },
  );
}
