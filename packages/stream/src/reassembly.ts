import {
  type Codec,
  type DecodeResult,
  ErrorCodes,
  type LengthPrefixedFraming,
  lengthPrefixedFraming,
  type Malformed,
  malformed,
  PeerlinkError,
} from '@peerlink/codec';
import type { StreamConfig } from './config.js';
import { messageOf, type StreamErrorCode } from './errors.js';
import type { MessageSink } from './message-stream.js';

export const EMPTY = new Uint8Array(0);
/** The first step, in bytes, in which a pending partial message takes bytes from a new chunk. */
export const MIN_COPY_STEP = 64;
/** The first step for a codec with `frameSize` whose pending message's size is not known yet. */
export const HEADER_STEP = 16;
/**
 * For codecs whose messages view their input: a split message's own buffer is reserved at its
 * declared size once that is at most this many times the bytes of it that have arrived (plus
 * `MIN_COPY_STEP`, or `rxBufMinSize` if more); until then its buffer grows to that many times
 * what arrived. So 1,000 peers that each declare `maxSize` and send a byte cost about 1,000 ×
 * 4 KiB, not 1,000 × `maxSize` (SPEC §8), while a 1 MiB message whose first 64 KiB (its prefix
 * included) came in one chunk gets its final buffer at once: each byte copied once.
 */
export const RETAIN_GROWTH = 16;
/**
 * From this size on (bytes), a split message's own buffer (codecs whose messages view their input)
 * is taken unfilled (`Buffer.allocUnsafeSlow`) where Node's `Buffer` exists: every byte of it is
 * written before the message is delivered, so zero-filling it first would be a wasted pass.
 */
const UNFILLED_MIN = 4096;

/**
 * The receive side's state and its lowest layer: the reassembly buffer (`rx[rxStart, rxEnd)`, a
 * partial message or held-back input), decoding one message with the codec (every answer of the
 * codec checked, inside a guard) and delivering it, and failing the stream. {@link Receiver}
 * builds the receive paths on it. Internal to `@peerlink/stream`.
 */
export class Reassembly<M> {
  /** The resolved configuration. */
  readonly config: StreamConfig;
  protected codec: Codec<M>;

  protected rx: Uint8Array = EMPTY;
  protected rxStart = 0;
  protected rxEnd = 0;
  /** True when `rx` holds undelivered input because the sink asked to stop. */
  protected stopped = false;
  protected failure: PeerlinkError<StreamErrorCode> | undefined;
  /** When the pending partial message began (NaN when none). */
  protected partialSince = Number.NaN;
  /**
   * The codec's messages are views of their input (`Codec.retainsInput`): the bytes of `rx` before
   * `rxEnd` are never written again, and chunks are decoded from a copy of their own.
   */
  protected retain: boolean;
  /**
   * The framing of a `lengthPrefixed` codec with a u32 prefix, whose frames the receive loop walks
   * itself ({@link decodeFramed}); `undefined` for any other codec.
   */
  protected framing: LengthPrefixedFraming | undefined;
  /**
   * `rx` may have been taken unfilled ({@link ownBuffer}): bytes after `rxEnd` are not ours to
   * show. Cleared (the tail zeroed) before anything decodes from `rx` short of its end.
   */
  protected unfilled = false;
  /** The largest message received: the codec's `maxSize`, or the receive limit if smaller. */
  protected maxMessage: number;

  constructor(codec: Codec<M>, config: StreamConfig) {
    this.codec = codec;
    this.config = config;
    this.maxMessage = Math.min(codec.maxSize, config.rxLimit);
    this.retain = codec.retainsInput === true;
    this.framing = u32Framing(codec);
  }

  /**
   * The size of the frame at `bytes[offset]` by the codec's `frameSize`: -1 when it is not known
   * yet (or the codec has no `frameSize`), -2 for an answer that is not a size (`decode` then
   * reports what is wrong).
   */
  protected frameSizeAt(bytes: Uint8Array, offset: number, end: number): number {
    const codec = this.codec;
    if (codec.frameSize === undefined) return -1;
    let size: number;
    try {
      size = codec.frameSize(bytes, offset, end);
    } catch {
      return -2;
    }
    if (size === -1) return -1;
    return Number.isInteger(size) && size > 0 && size <= codec.maxSize ? size : -2;
  }

  /**
   * Decodes one message from `bytes[offset, end)` and delivers it. Returns its size, or -1 when
   * incomplete or failed (then `failure` is set). Sets `stopped` when the sink says stop.
   */
  protected decodeOne(
    bytes: Uint8Array,
    offset: number,
    end: number,
    sink: MessageSink<M>,
  ): number {
    let result: DecodeResult<M>;
    let size: unknown;
    let message: M;
    const codec = this.codec;
    // Everything the codec returns is read here, once, inside the guard: a result whose getters
    // (or Proxy traps) throw is a codec failure like a decode that throws, never an exception out
    // of the stream.
    try {
      // The codec's offset-taking fast path spares a view per message.
      result =
        codec.decodeAt !== undefined
          ? codec.decodeAt(bytes, offset, end)
          : codec.decode(
              offset === 0 && end === bytes.length ? bytes : bytes.subarray(offset, end),
            );
      if (typeof result !== 'object' || result === null || result.kind !== 'message') {
        return this.notDecoded(result);
      }
      size = result.consumed;
      message = result.message;
    } catch (cause) {
      this.fail(new PeerlinkError(ErrorCodes.CODEC_FAILURE, 'codec decode threw', { cause }));
      return -1;
    }
    // One range check for the usual case (a number compared, never a value whose `valueOf` could
    // run); `checkConsumed` tells the failures apart.
    if (
      !(
        typeof size === 'number' &&
        size > 0 &&
        size <= end - offset &&
        size <= this.maxMessage &&
        Number.isInteger(size)
      )
    ) {
      return this.checkConsumed(size, end - offset, result);
    }
    let more: ReturnType<MessageSink<M>>;
    try {
      more = sink(message, size);
    } catch (cause) {
      // The input after this message is lost: end the stream so that it cannot go on out of
      // step with the peer, and let the caller see its own exception.
      this.fail(new PeerlinkError(ErrorCodes.SINK_FAILURE, 'message sink threw', { cause }));
      throw cause;
    }
    if (more === false) this.stopped = true;
    return size;
  }

  /**
   * {@link decodeOne} over the held bytes `rx[rxStart, rxEnd)`. A message may view `rx`, so its
   * `buffer` shows all of `rx`: if `rx` was taken unfilled and is not full, its tail is zeroed
   * first. (A split frame is decoded once its buffer is full, so this never costs a pass there.)
   */
  protected decodeHeld(sink: MessageSink<M>): number {
    if (this.unfilled) {
      if (this.rxEnd < this.rx.length) this.rx.fill(0, this.rxEnd);
      this.unfilled = false;
    }
    return this.decodeOne(this.rx, this.rxStart, this.rxEnd, sink);
  }

  /**
   * The receive loop of a `lengthPrefixed` codec with a u32 prefix ({@link framing}): delivers
   * every whole frame of `bytes[offset, end)` from the front, reading the prefix itself and making
   * no decode result per message, with the same outcome as {@link decodeOne} per frame. Stops at
   * the first frame that is incomplete or larger than `maxMessage` (left to `decodeOne`, which
   * reports what is wrong), or when the sink says stop (`stopped` is set). Returns the offset
   * after the last frame delivered, or -1 when the stream failed (a body codec that threw or
   * rejected a body).
   */
  protected decodeFramed(
    bytes: Uint8Array,
    offset: number,
    end: number,
    sink: MessageSink<M>,
  ): number {
    const framing = this.framing!;
    const little = framing.prefix === 'u32le';
    const body = framing.body;
    const max = this.maxMessage;
    const buffer = bytes.buffer;
    const base = bytes.byteOffset;
    let at = offset;
    while (end - at >= 4) {
      const length = little
        ? bytes[at + 3]! * 0x1000000 + ((bytes[at + 2]! << 16) | (bytes[at + 1]! << 8) | bytes[at]!)
        : bytes[at]! * 0x1000000 +
          ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
      const size = 4 + length;
      if (size > max || size > end - at) break;
      let message: M;
      if (body === undefined) {
        // The raw codec's body: a view, as its `decode` makes (without `subarray`'s overhead).
        message = new Uint8Array(buffer, base + at + 4, length) as M;
      } else {
        let decoded: unknown;
        try {
          decoded =
            body.decodeAt !== undefined
              ? body.decodeAt(bytes, at + 4, at + size)
              : body.decode(bytes.subarray(at + 4, at + size));
        } catch (cause) {
          this.fail(new PeerlinkError(ErrorCodes.CODEC_FAILURE, 'codec decode threw', { cause }));
          return -1;
        }
        if (decoded === undefined) {
          const result = malformed('body rejected by decoder');
          this.fail(
            new PeerlinkError(ErrorCodes.MALFORMED, `malformed message: ${result.reason}`, {
              cause: result,
            }),
          );
          return -1;
        }
        message = decoded as M;
      }
      let more: ReturnType<MessageSink<M>>;
      try {
        more = sink(message, size);
      } catch (cause) {
        this.fail(new PeerlinkError(ErrorCodes.SINK_FAILURE, 'message sink threw', { cause }));
        throw cause;
      }
      at += size;
      if (more === false) {
        this.stopped = true;
        break;
      }
    }
    return at;
  }

  /**
   * Where the whole frames of `bytes[offset, end)` end, for a codec with a {@link framing}: the
   * start of the first incomplete frame, or `end` when a frame declares more than the codec's
   * `maxSize` (decoding then reports it, as for any codec).
   */
  protected framedWhole(bytes: Uint8Array, offset: number, end: number): number {
    const little = this.framing!.prefix === 'u32le';
    const maxSize = this.codec.maxSize;
    let at = offset;
    while (end - at >= 4) {
      const size =
        4 +
        (little
          ? bytes[at + 3]! * 0x1000000 +
            ((bytes[at + 2]! << 16) | (bytes[at + 1]! << 8) | bytes[at]!)
          : bytes[at]! * 0x1000000 +
            ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!));
      if (size > maxSize) return end;
      if (size > end - at) break;
      at += size;
    }
    return at;
  }

  /**
   * A decode result other than a message: -1, failing the stream unless it is `incomplete`. Reads
   * the result (its getters may throw: the caller's guard catches that).
   */
  protected notDecoded(result: unknown): number {
    const kind =
      typeof result === 'object' && result !== null
        ? (result as { kind?: unknown }).kind
        : undefined;
    if (kind === 'incomplete') return -1;
    if (kind === 'malformed') {
      const reason = (result as Malformed).reason;
      this.fail(
        new PeerlinkError(ErrorCodes.MALFORMED, `malformed message: ${printable(reason)}`, {
          cause: result,
        }),
      );
      return -1;
    }
    this.fail(
      new PeerlinkError(
        ErrorCodes.CODEC_FAILURE,
        `codec decode returned ${result == null ? 'no result' : 'something that is not a decode result'}`,
        { cause: result },
      ),
    );
    return -1;
  }

  /** A message whose reported size is impossible or too large: fails the stream, returns -1. */
  protected checkConsumed(size: unknown, available: number, result: unknown): number {
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || size > available) {
      this.fail(
        new PeerlinkError(
          ErrorCodes.CODEC_FAILURE,
          `codec reported consuming ${typeof size === 'number' ? size : `a ${typeof size}`} bytes of ${available}`,
          { cause: result },
        ),
      );
    } else if (size <= this.config.maxSize && size > this.config.rxLimit) {
      this.fail(rxLimit(size, this.config.rxLimit));
    } else {
      this.fail(
        new PeerlinkError(
          ErrorCodes.MESSAGE_TOO_LARGE,
          `decoded a ${size}-byte message; maxSize is ${this.maxMessage}`,
        ),
      );
    }
    return -1;
  }

  /**
   * Copies `chunk[from, to)` to the end of the reassembly buffer, growing it geometrically; or,
   * for a codec whose messages are views of their input, to exactly `frame` bytes when that is
   * the size of the message being assembled (-1 when not known), and never over held bytes.
   */
  protected append(chunk: Uint8Array, from: number, to: number, frame = -1): void {
    const n = to - from;
    if (n === 0) return;
    if (this.rx.length - this.rxEnd < n) {
      const held = this.rxEnd - this.rxStart;
      const need = held + n;
      if (need <= this.rx.length && !this.retain) {
        this.compact();
      } else {
        let next: Uint8Array;
        if (this.retain && frame >= need && frame <= this.retainCap(need)) {
          // Memory of its own (delivered messages may view the old buffer), of exactly the frame's
          // declared size: the message is assembled in its final buffer, each byte copied once.
          // It is filled up to the frame's end before anything reads it (the codec decodes it
          // then, and it goes with the message).
          next = ownBuffer(frame);
          this.unfilled = true;
        } else {
          let cap: number;
          if (this.retain) {
            // Memory of its own too; when the frame's size is known, as large as what has arrived
            // allows (`RETAIN_GROWTH`), never the size the peer merely declared.
            cap = frame >= need ? this.retainCap(need) : Math.max(need, 2 * held, MIN_COPY_STEP);
          } else {
            cap = Math.max(this.rx.length, this.config.rxBufMinSize);
            while (cap < need) cap *= 2;
          }
          // Past the limit only held-back complete input may go (bounded by one read).
          if (!this.stopped) cap = Math.min(cap, Math.max(this.config.rxLimit, need));
          next = new Uint8Array(cap);
        }
        next.set(this.rx.subarray(this.rxStart, this.rxEnd));
        this.rx = next;
        this.rxStart = 0;
        this.rxEnd = held;
      }
    }
    this.rx.set(chunk.subarray(from, to), this.rxEnd);
    this.rxEnd += n;
  }

  protected compact(): void {
    if (this.rxStart === 0) return;
    if (this.retain) {
      // Never over bytes a delivered message may view: move the held bytes to memory of their
      // own, as large as their frame when its size is known (and allowed), as `append` does.
      const held = this.rxEnd - this.rxStart;
      const frame = this.frameSizeAt(this.rx, this.rxStart, this.rxEnd);
      const exact = frame >= held && frame <= this.retainCap(held);
      const next = exact
        ? ownBuffer(frame)
        : new Uint8Array(Math.max(held, Math.min(frame, this.retainCap(held))));
      if (exact) this.unfilled = true;
      next.set(this.rx.subarray(this.rxStart, this.rxEnd));
      this.rx = next;
      this.rxStart = 0;
      this.rxEnd = held;
      return;
    }
    this.rx.copyWithin(0, this.rxStart, this.rxEnd);
    this.rxEnd -= this.rxStart;
    this.rxStart = 0;
  }

  /**
   * The most a retaining codec's split message may reserve when `arrived` bytes of it are here:
   * `RETAIN_GROWTH` times that and `MIN_COPY_STEP` (at least `rxBufMinSize`), never past the
   * receive limit.
   */
  protected retainCap(arrived: number): number {
    const config = this.config;
    return Math.min(
      config.rxLimit,
      Math.max(RETAIN_GROWTH * arrived + MIN_COPY_STEP, config.rxBufMinSize),
    );
  }

  protected fail(error: PeerlinkError<StreamErrorCode>): PeerlinkError<StreamErrorCode> {
    this.failure = error;
    this.rx = EMPTY;
    this.rxStart = this.rxEnd = 0;
    this.stopped = false;
    return error;
  }
}

/** Node's `Buffer`, where there is one (the core also runs where there is not). */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): Uint8Array } })
  .Buffer;

/**
 * A buffer of `size` bytes of its own (its `ArrayBuffer` is exactly that large) for a message
 * assembled across chunks, every byte of which the caller writes before anything reads it:
 * unfilled memory from `Buffer.allocUnsafeSlow` for a large one where Node's `Buffer` exists (no
 * zero-fill pass), a plain zeroed `Uint8Array` otherwise. Returned as a plain `Uint8Array` view.
 */
export function ownBuffer(size: number): Uint8Array {
  if (size < UNFILLED_MIN || NodeBuffer === undefined) return new Uint8Array(size);
  const b = NodeBuffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

/** The framing of a `lengthPrefixed` codec with a u32 prefix, else `undefined`. */
export function u32Framing(codec: Codec<unknown>): LengthPrefixedFraming | undefined {
  const framing = lengthPrefixedFraming(codec);
  return framing !== undefined && framing.prefix !== 'varint' ? framing : undefined;
}

export function rxLimit(held: number, limit: number): PeerlinkError<StreamErrorCode> {
  return new PeerlinkError(
    ErrorCodes.RX_LIMIT,
    `a partial message of ${held} bytes cannot complete within the receive limit of ${limit} bytes`,
  );
}

/** A codec's `reason` as text, whatever it is (a Symbol, a throwing `toString`): never throws. */
function printable(reason: unknown): string {
  return typeof reason === 'string' ? reason : messageOf(reason);
}
