import type { ByteWriter } from './sink.js';

/**
 * A message was decoded: `consumed` bytes at the front of the input made it. The core reads the
 * two fields at once and never keeps the result object, so a codec may return one object that it
 * refills on every call (the built-in `lengthPrefixed` codecs do, to spare an allocation per
 * message).
 */
export interface Decoded<M> {
  readonly kind: 'message';
  /**
   * The decoded message. It must not keep a reference to the input bytes (copy what you keep),
   * unless the codec declares {@link Codec.retainsInput}.
   */
  readonly message: M;
  /** How many bytes the message occupied on the wire: an integer from 1 to the input length. */
  readonly consumed: number;
}

/** The input holds only part of a message; call again when more bytes have arrived. */
export interface NeedMoreData {
  readonly kind: 'incomplete';
}

/** The input can never become a valid message: the peer violates the protocol. */
export interface Malformed {
  readonly kind: 'malformed';
  /** A short human-readable explanation, for logs. */
  readonly reason: string;
}

/** What {@link Codec.decode} returns: a message, "not enough data yet", or "malformed". */
export type DecodeResult<M> = Decoded<M> | NeedMoreData | Malformed;

/**
 * The one thing a peerlink user supplies: how their message type `M` maps to bytes.
 *
 * A codec is a plain object of a few functions (no class needed). The core enforces its contract
 * defensively: a `decode` that throws, consumes 0 bytes, more bytes than it was given, or more than
 * `maxSize`, is a codec violation for that connection only.
 */
export interface Codec<M> {
  /**
   * The largest encoded message, in bytes (a positive integer). It sizes the receive limit
   * (`rxBufMaxSize`), the send limit (`txBufMaxSize`) and is the first line of DoS defence.
   */
  readonly maxSize: number;

  /**
   * Appends the encoded form of `message` to `sink` and returns the number of bytes written. In a
   * stream, `sink` is its send queue; call no other method of the stream from inside `encode`.
   */
  encode(message: M, sink: ByteWriter): number;

  /**
   * Decodes at most one message from the front of `bytes`.
   *
   * `bytes` may hold zero, one partial, or many messages. It is valid only during this call: the
   * receive path reuses the memory afterwards, so a message that keeps bytes must copy them
   * (`bytes.slice(...)`, not `subarray`). (A codec that declares {@link retainsInput} is handed
   * only memory that is never reused, and may keep views of it.)
   */
  decode(bytes: Uint8Array): DecodeResult<M>;

  /**
   * Optional fast path, the same as `decode(bytes.subarray(offset, end))` without making that
   * view: decodes at most one message from `bytes[offset, end)`, reading nothing outside it, and
   * reports `consumed` counted from `offset`. The core calls it instead of `decode` when present.
   * The same validity rule holds: `bytes` is valid only during the call.
   */
  decodeAt?(bytes: Uint8Array, offset: number, end: number): DecodeResult<M>;

  /**
   * Optional: the exact encoded size of `message`, in bytes, known without encoding it. Lets the
   * send path refuse a message that would not fit before spending time encoding it.
   */
  sizeHint?(message: M): number;

  /**
   * Optional fast path, with {@link sizeHint}: writes the encoded form of `message` into exactly
   * `bytes[offset, offset + size)`, where `size` is what `sizeHint(message)` returned for it just
   * before (the stream asks `sizeHint` first, checks the answer against its limits, then reserves
   * exactly that room). Writes every byte of that range and nothing outside it; returns nothing
   * (the size is known). The stream may call it instead of {@link encode} for a message whose
   * size it knows, so it must produce the same bytes as `encode`; it saves the calls through the
   * {@link ByteWriter} and the checks of what `encode` reports. The stream calls it only for
   * messages below 16 KiB (larger ones go through `encode`, which may share their bytes).
   */
  encodeAt?(message: M, bytes: Uint8Array, offset: number, size: number): void;

  /**
   * Optional: the size in bytes of the whole message that starts at `bytes[offset]` (its frame,
   * header included), as soon as `bytes[offset, end)` tells it, before the rest has arrived; `-1`
   * while more bytes are needed to tell. Any other answer that is not an integer from 1 to
   * `maxSize` makes the receive path ask `decode`, which reports the error. Read nothing outside
   * `[offset, end)`. Required by {@link retainsInput}; the receive path uses it to find a chunk's
   * complete messages and to assemble a split message in a buffer of exactly its size.
   */
  frameSize?(bytes: Uint8Array, offset: number, end: number): number;

  /**
   * Optional, with {@link frameSize}: `true` when decoded messages are views of the input bytes
   * rather than copies (the raw `lengthPrefixed` codec's are). The receive path then hands
   * `decode`/`decodeAt` only bytes it never writes again: it copies a chunk's complete messages
   * once, into memory of their own, and assembles a message split across chunks in a buffer of
   * its own. So a message costs no allocation of its own, and a view stays valid for as long as
   * the application keeps it (it pins the memory it views: at most one chunk, 64 KiB, or the
   * message's own buffer).
   */
  readonly retainsInput?: boolean;
}

const INCOMPLETE: NeedMoreData = Object.freeze({ kind: 'incomplete' });

/** Builds the result for a decoded message that occupied `consumed` bytes. */
export function decoded<M>(message: M, consumed: number): Decoded<M> {
  return { kind: 'message', message, consumed };
}

/** The "not enough data yet" result (a shared frozen object: returning it allocates nothing). */
export function incomplete(): NeedMoreData {
  return INCOMPLETE;
}

/** Builds the "malformed input" result with a short `reason` for logs. */
export function malformed(reason: string): Malformed {
  return { kind: 'malformed', reason };
}
