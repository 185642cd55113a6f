import {
  type Codec,
  type DecodeResult,
  ErrorCodes,
  invalidArgument,
  type Malformed,
  PeerlinkError,
} from '@peerlink/codec';
import { QueuePoints } from '@peerlink/queue-points';
import { resolveStreamConfig, type StreamConfig, type StreamConfigOptions } from './config.js';
import { messageOf, type StreamErrorCode } from './errors.js';
import { SendQueue } from './send-queue.js';

/**
 * Receives each decoded message with its wire size in bytes. Return `false` to stop delivery
 * after this message: the rest of the input is kept, undecoded, until
 * {@link MessageStream.resumeReceive}. A sink should not throw: if it does, the exception
 * propagates out of `handleData`/`resumeReceive` and the stream ends with `ERR_SINK_FAILURE`.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: lets a sink be a plain `(m) => { ... }`.
export type MessageSink<M> = (message: M, size: number) => boolean | undefined | void;

const EMPTY = new Uint8Array(0);
/** Send slabs double from `txBufMinSize` up to this size, in bytes. */
const SLAB_SIZE = 65536;
/** The first step, in bytes, in which a pending partial message takes bytes from a new chunk. */
const MIN_COPY_STEP = 64;
/**
 * For codecs whose messages view their input: a split message's buffer grows to at most this many
 * times the bytes that have arrived (so to its final size in few steps, a 1 MiB message arriving
 * in 64 KiB chunks copied about 1.25 times, not 2), never to a size the peer merely declared.
 */
const RETAIN_GROWTH = 4;

/**
 * The transport-agnostic core of one connection: message reassembly on the receive side, encoding
 * and queueing on the send side. It is sans-I/O: it owns no socket, no timer and no clock.
 *
 * Calling order (time `now` is in milliseconds, from any monotonic clock):
 * - Receive: pass each incoming chunk to {@link handleData}; every complete message in it is given
 *   to the sink in order, with its wire size. A returned error ends the stream (the peer violated
 *   the protocol or the limits). If the sink returned `false`, {@link hasBufferedInput} is true
 *   and {@link resumeReceive} delivers the rest when the consumer is ready.
 * - Send: {@link queue} encodes a message (or refuses it when the send buffer is full); while
 *   {@link hasQueuedData}, take bytes with {@link pollTransmit} and hand them to the transport.
 *   Report a transport that refused more with {@link handleBlocked}, its progress while still
 *   blocked with {@link handleProgress}, and its drain with {@link handleDrain}.
 * - Housekeeping: {@link isWriteStale} and {@link isReceiveStale} about once a second,
 *   {@link shrinkBuffers} about every 30 s.
 *
 * Receive: messages are decoded straight from the chunk when no partial message is pending; only
 * an incomplete tail is copied, into a reassembly buffer that grows geometrically with what has
 * actually arrived (never to a length the peer merely declared) and never past the receive limit.
 */
export class MessageStream<M> {
  /** The resolved configuration. */
  readonly config: StreamConfig;
  private codec: Codec<M>;

  private rx: Uint8Array = EMPTY;
  private rxStart = 0;
  private rxEnd = 0;
  /** True when `rx` holds undelivered input because the sink asked to stop. */
  private stopped = false;
  private failure: PeerlinkError<StreamErrorCode> | undefined;
  /** When the pending partial message began (NaN when none). */
  private partialSince = Number.NaN;
  /**
   * The codec's messages are views of their input (`Codec.retainsInput`): the bytes of `rx` before
   * `rxEnd` are never written again, and chunks are decoded from a copy of their own.
   */
  private retain: boolean;

  private readonly tx: SendQueue;
  private readonly points = new QueuePoints();
  private lastProgress = Number.NEGATIVE_INFINITY;
  /** Bytes queued when the current round of `pollTransmit` calls began (0 between rounds). */
  private batch = 0;
  private blockedSince = Number.NaN;
  /** The largest message received: the codec's `maxSize`, or the receive limit if smaller. */
  private maxMessage: number;
  /** A `queue` call is running (its codec's `sizeHint` or `encode`): another one is refused. */
  private queuing = false;

  constructor(codec: Codec<M>, config: StreamConfig | StreamConfigOptions = {}) {
    checkCodec(codec);
    if (typeof config !== 'object' || config === null) {
      throw invalidArgument('config', 'an object', config);
    }
    this.codec = codec;
    // A configuration resolved for a larger `maxSize` (a codec factory's) is used as it is.
    this.config =
      'rxLimit' in config && codec.maxSize <= config.maxSize
        ? (config as StreamConfig)
        : resolveStreamConfig(codec.maxSize, config);
    this.maxMessage = Math.min(codec.maxSize, this.config.rxLimit);
    this.retain = codec.retainsInput === true;
    this.tx = new SendQueue({
      initialCapacity: this.config.txBufMinSize,
      slabSize: Math.max(SLAB_SIZE, this.config.txBufMinSize),
    });
  }

  // ---------------------------------------------------------------- receive

  /**
   * Takes one incoming chunk (valid only during the call) and delivers every complete message in
   * it to `sink`, in order. `now` (ms) feeds the message-completion deadline. `owned` (default
   * `false`): the caller never reuses the chunk's memory (Node's `'data'` chunks), so a codec whose
   * messages view their input (`Codec.retainsInput`) may view it without a copy.
   *
   * Returns `undefined`, or the error that ends the stream: `ERR_MALFORMED_MESSAGE`,
   * `ERR_MESSAGE_TOO_LARGE`, `ERR_RX_LIMIT` or `ERR_CODEC_FAILURE`. After an error every call
   * returns the same error. A sink that throws ends the stream with `ERR_SINK_FAILURE` and its
   * exception propagates.
   */
  handleData(
    chunk: Uint8Array,
    sink: MessageSink<M>,
    now: number,
    owned = false,
  ): PeerlinkError<StreamErrorCode> | undefined {
    if (!(chunk instanceof Uint8Array)) throw invalidArgument('chunk', 'a Uint8Array', chunk);
    if (typeof sink !== 'function') throw invalidArgument('sink', 'a function', sink);
    checkNow(now);
    if (this.failure !== undefined) return this.failure;
    if (chunk.length === 0) return undefined;
    // A Node `Buffer` (a Uint8Array subclass) makes every `subarray` several times slower; decode
    // from a plain view of the same memory instead (no copy).
    if (chunk.constructor !== Uint8Array) {
      chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    if (this.stopped) {
      this.append(chunk, 0, chunk.length);
      return undefined;
    }
    let offset = 0;
    if (this.retain) {
      while (this.rxEnd > this.rxStart && offset < chunk.length) {
        offset = this.completeRetained(chunk, offset, sink, now);
        if (offset < 0) return this.failure;
      }
      return this.decodeRetained(chunk, offset, sink, now, owned);
    }
    // A partial message is pending: complete it with bytes from the chunk first.
    while (this.rxEnd > this.rxStart && offset < chunk.length) {
      offset = this.completePartial(chunk, offset, sink, now);
      if (offset < 0) return this.failure;
    }
    return this.decodeChunk(chunk, offset, sink, now);
  }

  /**
   * Delivers input kept back after the sink returned `false`. Returns like {@link handleData}.
   */
  resumeReceive(sink: MessageSink<M>, now: number): PeerlinkError<StreamErrorCode> | undefined {
    if (typeof sink !== 'function') throw invalidArgument('sink', 'a function', sink);
    checkNow(now);
    if (this.failure !== undefined) return this.failure;
    if (!this.stopped) return undefined;
    this.stopped = false;
    const error = this.drainBuffered(sink, now);
    if (this.stopped && this.rxEnd === this.rxStart) this.stopped = false;
    if (!this.stopped && this.rx.length > this.config.rxLimit) {
      // Held-back input took the buffer past the receive limit; what is left is a partial message
      // below the limit (or nothing), so give the excess back at once.
      const held = this.rxEnd - this.rxStart;
      const next =
        held === 0
          ? EMPTY
          : new Uint8Array(Math.min(this.config.rxLimit, Math.max(this.config.rxBufMinSize, held)));
      next.set(this.rx.subarray(this.rxStart, this.rxEnd));
      this.rx = next;
      this.rxStart = 0;
      this.rxEnd = held;
    }
    return error;
  }

  /**
   * Replaces the codec, for a connection whose protocol changes (after a handshake, say). It takes
   * effect with the next message decoded or encoded, also when called from the sink during
   * delivery: the rest of the input is decoded with it. Input already buffered (a partial
   * message the old codec called incomplete) is decoded with it at the next {@link handleData},
   * or at once with {@link decodeBuffered}. The limits stay those of the configuration.
   */
  setCodec(codec: Codec<M>): void {
    checkCodec(codec);
    const retain = codec.retainsInput === true;
    if (this.retain && !retain && this.rx.length > 0) {
      // Messages already delivered may view the buffer, which the new codec's reassembly would
      // write over: give it memory of its own.
      const held = this.rxEnd - this.rxStart;
      const next = held === 0 ? EMPTY : new Uint8Array(Math.max(held, this.config.rxBufMinSize));
      next.set(this.rx.subarray(this.rxStart, this.rxEnd));
      this.rx = next;
      this.rxStart = 0;
      this.rxEnd = held;
    }
    this.retain = retain;
    this.codec = codec;
    this.maxMessage = Math.min(codec.maxSize, this.config.rxLimit);
  }

  /**
   * Decodes input buffered as a partial message with the current codec (after
   * {@link setCodec}). Returns like {@link handleData}. Input held back because the sink asked to
   * stop is left to {@link resumeReceive}.
   */
  decodeBuffered(sink: MessageSink<M>, now: number): PeerlinkError<StreamErrorCode> | undefined {
    if (typeof sink !== 'function') throw invalidArgument('sink', 'a function', sink);
    checkNow(now);
    if (this.failure !== undefined) return this.failure;
    if (this.stopped || this.rxEnd === this.rxStart) return undefined;
    return this.drainBuffered(sink, now);
  }

  /** Whether input is held back because the sink asked to stop. */
  get hasBufferedInput(): boolean {
    return this.stopped;
  }

  /** Bytes of a partial message (or held-back input) currently buffered. */
  get bufferedBytes(): number {
    return this.rxEnd - this.rxStart;
  }

  /** Capacity of the reassembly buffer, in bytes (0 when none is allocated). */
  get rxCapacity(): number {
    return this.rx.length;
  }

  /** The error that ended the stream, if any. */
  get error(): PeerlinkError<StreamErrorCode> | undefined {
    return this.failure;
  }

  /**
   * Whether a started message has not completed within `messageTimeout` (never, when that is 0).
   */
  isReceiveStale(now: number): boolean {
    checkNow(now);
    const limit = this.config.messageTimeout;
    return limit > 0 && now - this.partialSince > limit;
  }

  /**
   * The size of the frame at `bytes[offset]` by the codec's `frameSize`: -1 when it is not known
   * yet (or the codec has no `frameSize`), -2 for an answer that is not a size (`decode` then
   * reports what is wrong).
   */
  private frameSizeAt(bytes: Uint8Array, offset: number, end: number): number {
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
   * {@link decodeChunk} for a codec whose messages are views of their input: the chunk's complete
   * messages (found with `frameSize`) are copied once into memory of their own and decoded from
   * there (not copied at all when the caller owns the chunk); an incomplete tail goes into a
   * fresh buffer of the frame's size.
   */
  private decodeRetained(
    chunk: Uint8Array,
    offset: number,
    sink: MessageSink<M>,
    now: number,
    owned: boolean,
  ): PeerlinkError<StreamErrorCode> | undefined {
    const end = chunk.length;
    let whole = end;
    if (this.codec.frameSize !== undefined) {
      whole = offset;
      for (;;) {
        const size = this.frameSizeAt(chunk, whole, end);
        if (size === -2) {
          whole = end; // a bad frame: copied and decoded like the rest, decode reports it
          break;
        }
        if (size < 0 || size > end - whole) break;
        whole += size;
      }
    }
    if (whole > offset) {
      // One copy for every complete message of the chunk (none when the chunk is ours to keep).
      const own = owned ? chunk : chunk.slice(offset, whole);
      let at = owned ? offset : 0;
      const stop = owned ? whole : own.length;
      while (at < stop) {
        const size = this.decodeOne(own, at, stop, sink);
        if (size < 0) {
          if (this.failure !== undefined) return this.failure;
          break; // incomplete: the codec has no `frameSize`, or disagrees with it
        }
        at += size;
        this.partialSince = Number.NaN;
        if (this.stopped) break;
      }
      if (at < stop) {
        // Held back, or a partial message: the rest of the copy becomes the buffer as it is.
        if (owned) {
          this.rx = EMPTY;
          this.rxStart = this.rxEnd = 0;
          this.append(chunk, at, stop, -1);
        } else {
          this.rx = own;
          this.rxStart = at;
          this.rxEnd = own.length;
        }
        if (this.stopped) {
          this.holdBack(chunk, whole);
          return undefined;
        }
        if (whole < end) this.append(chunk, whole, end, -1);
        return this.keepPartial(now);
      }
      if (this.stopped) {
        this.holdBack(chunk, whole);
        return undefined;
      }
    }
    if (whole < end) {
      const tail = end - whole;
      const frame = this.frameSizeAt(chunk, whole, end);
      if (tail >= this.config.rxLimit || frame > this.config.rxLimit) {
        return this.fail(rxLimit(Math.max(tail, frame), this.config.rxLimit));
      }
      this.append(chunk, whole, end, frame);
      if (Number.isNaN(this.partialSince)) this.partialSince = now;
    }
    return undefined;
  }

  /** A partial message is buffered: checks it against the receive limit, notes when it began. */
  private keepPartial(now: number): PeerlinkError<StreamErrorCode> | undefined {
    const held = this.rxEnd - this.rxStart;
    if (held >= this.config.rxLimit) return this.fail(rxLimit(held, this.config.rxLimit));
    if (Number.isNaN(this.partialSince)) this.partialSince = now;
    return undefined;
  }

  /**
   * {@link completePartial} for a codec whose messages are views of their input: once the pending
   * message's size is known, its buffer is made exactly that large and takes exactly the bytes it
   * lacks (one copy of every byte); the buffer then belongs to the message. Returns the chunk
   * offset to go on from, or -1 when this chunk is done with.
   */
  private completeRetained(
    chunk: Uint8Array,
    offset: number,
    sink: MessageSink<M>,
    now: number,
  ): number {
    const limit = this.config.rxLimit;
    let from = offset;
    let step = MIN_COPY_STEP;
    let size: number;
    for (;;) {
      const held = this.rxEnd - this.rxStart;
      const frame = this.frameSizeAt(this.rx, this.rxStart, this.rxEnd);
      if (frame > limit) {
        // Declared larger than the receive limit (`rxBufMaxBytes` below `maxSize`): it can never fit.
        this.fail(rxLimit(frame, limit));
        return -1;
      }
      if (frame > held) {
        const n = Math.min(frame - held, chunk.length - from);
        this.append(chunk, from, from + n, frame);
        from += n;
        if (held + n < frame) return -1; // the chunk is used up
      } else if (frame < 0) {
        // Size not known yet: feed bytes in growing steps, decoding after each.
        const n = Math.min(step, chunk.length - from, limit - held);
        this.append(chunk, from, from + n, -1);
        from += n;
        step *= 2;
      }
      size = this.decodeOne(this.rx, this.rxStart, this.rxEnd, sink);
      if (size >= 0) break;
      if (this.failure !== undefined) return -1;
      const nowHeld = this.rxEnd - this.rxStart;
      if (frame > 0 && nowHeld >= frame) {
        this.fail(
          new PeerlinkError(
            ErrorCodes.CODEC_FAILURE,
            `codec frameSize said ${frame} bytes but decode wants more`,
          ),
        );
        return -1;
      }
      if (nowHeld >= limit) {
        this.fail(rxLimit(nowHeld, limit));
        return -1;
      }
      if (from === chunk.length) return -1;
    }
    this.partialSince = Number.NaN;
    const excess = this.rxEnd - this.rxStart - size;
    if (excess <= from - offset) {
      // The usual case: the message ended inside bytes taken from this chunk. The buffer is the
      // message's now; go on straight from the chunk.
      this.rx = EMPTY;
      this.rxStart = this.rxEnd = 0;
      const next = from - excess;
      if (!this.stopped) return next;
      this.holdBack(chunk, next);
      return -1;
    }
    // A codec that completed a message inside bytes it earlier called incomplete (it looks ahead):
    // go the general way through the buffer, then on with the rest of the chunk.
    this.rxStart += size;
    if (!this.stopped) {
      if (this.drainBuffered(sink, now) !== undefined) return -1;
      if (!this.stopped) return from;
    }
    this.holdBack(chunk, from);
    return -1;
  }

  /** Decodes straight from `chunk` (the reassembly buffer is empty), from `offset` on. */
  private decodeChunk(
    chunk: Uint8Array,
    offset: number,
    sink: MessageSink<M>,
    now: number,
  ): PeerlinkError<StreamErrorCode> | undefined {
    const end = chunk.length;
    while (offset < end) {
      const size = this.decodeOne(chunk, offset, end, sink);
      if (size < 0) {
        if (this.failure !== undefined) return this.failure;
        // Incomplete: keep the tail, if it can ever complete.
        const tail = end - offset;
        if (tail >= this.config.rxLimit) return this.fail(rxLimit(tail, this.config.rxLimit));
        this.append(chunk, offset, end);
        if (Number.isNaN(this.partialSince)) this.partialSince = now;
        return undefined;
      }
      offset += size;
      this.partialSince = Number.NaN;
      if (this.stopped) {
        this.holdBack(chunk, offset);
        return undefined;
      }
    }
    return undefined;
  }

  /**
   * A partial message is pending: feed it bytes of `chunk` from `offset` on, in growing steps
   * (so that only about what the message needs is copied, not the whole chunk), until it
   * completes. Returns the chunk offset to go on decoding from, or -1 when this chunk is done
   * with (wholly buffered, held back, or the stream failed).
   */
  private completePartial(
    chunk: Uint8Array,
    offset: number,
    sink: MessageSink<M>,
    now: number,
  ): number {
    const limit = this.config.rxLimit;
    const old = this.rxEnd - this.rxStart;
    let from = offset;
    let step = Math.max(old, MIN_COPY_STEP);
    let size: number;
    for (;;) {
      const n = Math.min(step, chunk.length - from, limit - (this.rxEnd - this.rxStart));
      this.append(chunk, from, from + n);
      from += n;
      size = this.decodeOne(this.rx, this.rxStart, this.rxEnd, sink);
      if (size >= 0) break;
      if (this.failure !== undefined) return -1;
      const held = this.rxEnd - this.rxStart;
      if (held >= limit) {
        this.fail(rxLimit(held, limit));
        return -1;
      }
      if (from === chunk.length) return -1;
      step *= 2;
    }
    this.partialSince = Number.NaN;
    if (size >= old) {
      // The usual case: the message ended inside the bytes just copied from the chunk. Drop the
      // buffer and go on straight from the chunk.
      this.rxStart = this.rxEnd = 0;
      const next = offset + (size - old);
      if (!this.stopped) return next;
      this.holdBack(chunk, next);
      return -1;
    }
    // A codec that completed a message inside bytes it earlier called incomplete (it looks
    // ahead): go the general way through the buffer, then on with the rest of the chunk.
    this.rxStart += size;
    if (!this.stopped) {
      if (this.drainBuffered(sink, now) !== undefined) return -1;
      if (!this.stopped) return from;
    }
    this.holdBack(chunk, from);
    return -1;
  }

  /**
   * Decodes messages held in the buffer until it holds only a partial one or the sink stops (then
   * `stopped` stays set, even if the buffer is empty: the caller decides).
   */
  private drainBuffered(
    sink: MessageSink<M>,
    now: number,
  ): PeerlinkError<StreamErrorCode> | undefined {
    while (this.rxEnd > this.rxStart) {
      const size = this.decodeOne(this.rx, this.rxStart, this.rxEnd, sink);
      if (size < 0) {
        if (this.failure !== undefined) return this.failure;
        const held = this.rxEnd - this.rxStart;
        if (held >= this.config.rxLimit) return this.fail(rxLimit(held, this.config.rxLimit));
        if (Number.isNaN(this.partialSince)) this.partialSince = now;
        this.compact();
        return undefined;
      }
      this.rxStart += size;
      this.partialSince = Number.NaN;
      if (this.stopped) break;
    }
    if (this.rxStart === this.rxEnd) {
      this.rxStart = this.rxEnd = 0;
      // Delivered messages may be views of the buffer: it is theirs now.
      if (this.retain) this.rx = EMPTY;
    }
    return undefined;
  }

  /**
   * The sink asked to stop: keep `chunk[from..]` after what is buffered, undecoded, until
   * {@link resumeReceive}. Held-back input is complete data the peer was entitled to send, so it
   * may take the buffer past the receive limit by up to one chunk.
   */
  private holdBack(chunk: Uint8Array, from: number): void {
    this.stopped = false; // so that `append` sizes the buffer to fit, not to double
    if (from < chunk.length) this.append(chunk, from, chunk.length);
    this.stopped = this.rxEnd > this.rxStart;
  }

  /**
   * Decodes one message from `bytes[offset, end)` and delivers it. Returns its size, or -1 when
   * incomplete or failed (then `failure` is set). Sets `stopped` when the sink says stop.
   */
  private decodeOne(bytes: Uint8Array, offset: number, end: number, sink: MessageSink<M>): number {
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
   * A decode result other than a message: -1, failing the stream unless it is `incomplete`. Reads
   * the result (its getters may throw: the caller's guard catches that).
   */
  private notDecoded(result: unknown): number {
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
  private checkConsumed(size: unknown, available: number, result: unknown): number {
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
  private append(chunk: Uint8Array, from: number, to: number, frame = -1): void {
    const n = to - from;
    if (n === 0) return;
    if (this.rx.length - this.rxEnd < n) {
      const held = this.rxEnd - this.rxStart;
      const need = held + n;
      if (need <= this.rx.length && !this.retain) {
        this.compact();
      } else {
        let cap: number;
        if (this.retain) {
          // Memory of its own (delivered messages may view the old buffer): the frame's size when
          // known, so that the message is assembled in its final buffer; but never more than
          // `RETAIN_GROWTH` times what has arrived (or `rxBufMinSize`), whatever the peer declared.
          cap =
            frame >= need
              ? Math.min(frame, Math.max(RETAIN_GROWTH * need, this.config.rxBufMinSize))
              : Math.max(need, 2 * held, MIN_COPY_STEP);
        } else {
          cap = Math.max(this.rx.length, this.config.rxBufMinSize);
          while (cap < need) cap *= 2;
        }
        // Past the limit only held-back complete input may go (bounded by one read).
        if (!this.stopped) cap = Math.min(cap, Math.max(this.config.rxLimit, need));
        const next = new Uint8Array(cap);
        next.set(this.rx.subarray(this.rxStart, this.rxEnd));
        this.rx = next;
        this.rxStart = 0;
        this.rxEnd = held;
      }
    }
    this.rx.set(chunk.subarray(from, to), this.rxEnd);
    this.rxEnd += n;
  }

  private compact(): void {
    if (this.rxStart === 0) return;
    if (this.retain) {
      // Never over bytes a delivered message may view: move the held bytes to memory of their
      // own, as large as their frame when its size is known.
      const held = this.rxEnd - this.rxStart;
      const frame = this.frameSizeAt(this.rx, this.rxStart, this.rxEnd);
      const cap = Math.min(frame, Math.max(RETAIN_GROWTH * held, this.config.rxBufMinSize));
      const next = new Uint8Array(Math.max(held, cap));
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

  private fail(error: PeerlinkError<StreamErrorCode>): PeerlinkError<StreamErrorCode> {
    this.failure = error;
    this.rx = EMPTY;
    this.rxStart = this.rxEnd = 0;
    this.stopped = false;
    return error;
  }

  // ---------------------------------------------------------------- send

  /**
   * Encodes `message` into the send buffer, queued at `now` (ms). Returns `false`, queueing
   * nothing, when the buffer has no room: with a size hint, when the message would take the buffer
   * past the send limit (a message that exactly fills it is admitted); without one, when the
   * buffer already holds the limit or more.
   *
   * Throws `ERR_MESSAGE_TOO_LARGE` for a message larger than `maxSize` (it could never be
   * decoded by the peer) or, by its size hint, than a send limit given in bytes (it could never be
   * queued), and `ERR_ENCODE_FAILURE` when the codec's `encode` or `sizeHint` throws,
   * `sizeHint` returns something other than a non-negative integer, or `encode` misreports the
   * bytes it wrote; the buffer is left as it was.
   *
   * Throws `ERR_REENTRANT_QUEUE`, queueing nothing, when called from inside the codec's `encode` or
   * `sizeHint` for this stream (a message queued there would land inside the one being encoded
   * and merge two frames into one); queue it after `queue` returns instead.
   */
  queue(message: M, now: number): boolean {
    checkNow(now);
    if (this.queuing) throw reentrant('queue');
    this.queuing = true;
    try {
      return this.encodeMessage(message, now);
    } finally {
      this.queuing = false;
    }
  }

  /** {@link queue} once its arguments are checked and re-entry is ruled out. */
  private encodeMessage(message: M, now: number): boolean {
    const tx = this.tx;
    const codec = this.codec;
    const maxSize = codec.maxSize;
    const limit = this.config.txLimit;
    const held = tx.size;
    if (codec.sizeHint !== undefined) {
      let size: number;
      try {
        size = codec.sizeHint(message);
      } catch (cause) {
        if (passesThrough(cause)) throw cause; // the codec refused the message's type, or re-entered
        throw new PeerlinkError(ErrorCodes.ENCODE_FAILURE, 'codec sizeHint threw', { cause });
      }
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new PeerlinkError(
          ErrorCodes.ENCODE_FAILURE,
          `codec sizeHint returned ${String(size)}`,
        );
      }
      if (size > maxSize) throw tooLarge(size, maxSize);
      if (held + size > limit) {
        if (size > limit) {
          throw new PeerlinkError(
            ErrorCodes.MESSAGE_TOO_LARGE,
            `message of ${size} bytes exceeds the send limit of ${limit} bytes`,
          );
        }
        return false;
      }
    } else if (held >= limit) {
      return false;
    }
    // Sizes, not offsets: an encode that grows the sink moves the bytes of this message. The mark
    // lets it leave the messages before this one where they are.
    tx.mark();
    let reported: number;
    try {
      reported = codec.encode(message, tx);
    } catch (cause) {
      tx.truncate(tx.size - held);
      if (passesThrough(cause)) throw cause; // the codec refused the message's type, or re-entered
      throw new PeerlinkError(ErrorCodes.ENCODE_FAILURE, 'codec encode threw', { cause });
    }
    const written = tx.size - held;
    if (reported !== written || written > maxSize) this.rejectEncoded(written, reported);
    this.points.append(written, now);
    return true;
  }

  /** Undoes an encode that wrote too much or misreported what it wrote, and throws. */
  private rejectEncoded(written: number, reported: number): never {
    this.tx.truncate(written);
    const maxSize = this.codec.maxSize;
    if (written > maxSize) throw tooLarge(written, maxSize);
    throw new PeerlinkError(
      ErrorCodes.ENCODE_FAILURE,
      `codec encode reported ${String(reported)} bytes but wrote ${written}`,
    );
  }

  /** Whether the send buffer holds bytes not yet handed to the transport. */
  get hasQueuedData(): boolean {
    return this.tx.size > 0;
  }

  /** Bytes in the send buffer not yet handed to the transport. */
  get queuedBytes(): number {
    return this.tx.size;
  }

  /** Free room in the send buffer before the send limit, in bytes (0 when full). */
  get freeBytes(): number {
    return Math.max(0, this.config.txLimit - this.tx.size);
  }

  /** Capacity of the send buffer's current slab, in bytes (0 when none is allocated). */
  get txCapacity(): number {
    return this.tx.capacity;
  }

  /** When the oldest unsent bytes were queued (ms), or `undefined` when nothing is queued. */
  get oldestQueued(): number | undefined {
    return this.points.oldest();
  }

  /**
   * Takes the oldest run of queued bytes for the transport (a view the stream never writes again),
   * marking them written at `now`. Returns `undefined` when nothing is queued.
   *
   * Queued bytes usually form one run. They form several when a message larger than the free
   * room of the current slab was queued behind unsent ones (the earlier bytes are not copied to
   * make room), or when the codec appended large bytes by reference (`writeShared`).
   * Call it again while {@link hasQueuedData} to take the rest, in order, or stop when the
   * transport is blocked.
   */
  pollTransmit(now: number): Uint8Array | undefined {
    checkNow(now);
    // From inside `encode`, the bytes held include part of the message being encoded.
    if (this.queuing) throw reentrant('pollTransmit');
    const tx = this.tx;
    const held = tx.size;
    if (held === 0) return undefined;
    if (this.batch === 0) this.batch = held;
    const bytes = tx.take();
    this.points.markWritten(bytes.length);
    this.lastProgress = now;
    if (held === bytes.length) {
      // Everything is taken. If the room left in the slab could not take another batch as large
      // as this one, start the next batch in a fresh slab rather than split it across two (two
      // transport writes instead of one).
      if (tx.room < this.batch) tx.retire();
      this.batch = 0;
    }
    return bytes;
  }

  /** The transport refused more bytes at `now` (its `write` returned `false`). */
  handleBlocked(now: number): void {
    checkNow(now);
    if (Number.isNaN(this.blockedSince)) this.blockedSince = now;
  }

  /** The transport drained at `now`: it accepted everything it was given. */
  handleDrain(now: number): void {
    checkNow(now);
    this.blockedSince = Number.NaN;
    this.lastProgress = now;
  }

  /**
   * The transport, still blocked, passed on part of what it holds at `now` (its handler's
   * `onProgress`): write progress, so a slow but steady reader is not write-stale.
   */
  handleProgress(now: number): void {
    checkNow(now);
    this.lastProgress = now;
  }

  /** Whether the transport is blocked (refused bytes and has not drained since). */
  get isBlocked(): boolean {
    return !Number.isNaN(this.blockedSince);
  }

  /**
   * Whether data is not leaving in a timely manner: the oldest queued bytes (or a blocked
   * transport) have waited longer than `txTimeout`, with no write progress for as long.
   */
  isWriteStale(now: number): boolean {
    checkNow(now);
    const timeout = this.config.txTimeout;
    if (now - this.lastProgress <= timeout) return false;
    const oldest = this.points.oldest();
    if (oldest !== undefined && now - oldest > timeout) return true;
    return now - this.blockedSince > timeout;
  }

  // ---------------------------------------------------------------- memory

  /**
   * Shrinks buffer capacity above the floors by a quarter (never below the floor, nor below what
   * is held); a buffer already at its floor and empty is released. Call it about every 30 s so
   * that one large message does not pin memory for the life of a peer.
   */
  shrinkBuffers(): void {
    const held = this.rxEnd - this.rxStart;
    const rxCap = this.rx.length;
    if (rxCap > 0) {
      const floor = this.config.rxBufMinSize;
      if (rxCap > floor) {
        const target = Math.max(floor, Math.floor(rxCap / 4) * 3, held);
        if (target < rxCap) {
          const next = new Uint8Array(target);
          next.set(this.rx.subarray(this.rxStart, this.rxEnd));
          this.rx = next;
          this.rxStart = 0;
          this.rxEnd = held;
        }
      } else if (held === 0) {
        this.rx = EMPTY;
        this.rxStart = this.rxEnd = 0;
      }
    }
    const txCap = this.tx.capacity;
    if (txCap > 0) {
      const floor = this.config.txBufMinSize;
      // Only the current slab is resized (never below what it holds); earlier runs of queued
      // bytes are views that go when taken.
      const open = this.tx.openBytes;
      if (txCap > floor) {
        const target = Math.max(floor, Math.floor(txCap / 4) * 3, open);
        if (target < txCap) this.tx.resize(target);
      } else if (open === 0) {
        this.tx.resize(0);
      }
    }
    this.points.shrink();
  }
}

function rxLimit(held: number, limit: number): PeerlinkError<StreamErrorCode> {
  return new PeerlinkError(
    ErrorCodes.RX_LIMIT,
    `a partial message of ${held} bytes cannot complete within the receive limit of ${limit} bytes`,
  );
}

function tooLarge(size: number, maxSize: number): PeerlinkError<StreamErrorCode> {
  return new PeerlinkError(
    ErrorCodes.MESSAGE_TOO_LARGE,
    `message of ${size} bytes exceeds maxSize ${maxSize}`,
  );
}

/** A codec's `reason` as text, whatever it is (a Symbol, a throwing `toString`): never throws. */
function printable(reason: unknown): string {
  return typeof reason === 'string' ? reason : messageOf(reason);
}

/** Throws `ERR_INVALID_ARGUMENT` unless `now` is a number of milliseconds (not NaN). */
function checkNow(now: number): void {
  if (typeof now !== 'number' || Number.isNaN(now)) {
    throw invalidArgument('now', 'a number of milliseconds', now);
  }
}

/** Throws `ERR_INVALID_ARGUMENT` unless `codec` is an object with `encode` and `decode` functions. */
function checkCodec(codec: unknown): void {
  if (
    typeof codec !== 'object' ||
    codec === null ||
    typeof (codec as Codec<unknown>).encode !== 'function' ||
    typeof (codec as Codec<unknown>).decode !== 'function'
  ) {
    throw invalidArgument('codec', 'an object with encode and decode functions', codec);
  }
}

/**
 * Whether a codec's exception is passed through `queue` as it is: `ERR_INVALID_ARGUMENT` (the codec
 * refused the message's type) or `ERR_REENTRANT_QUEUE` (it queued on the same stream).
 */
function passesThrough(error: unknown): boolean {
  if (!PeerlinkError.isInstance(error)) return false;
  return error.code === ErrorCodes.INVALID_ARGUMENT || error.code === ErrorCodes.REENTRANT_QUEUE;
}

function reentrant(what: string): PeerlinkError {
  return new PeerlinkError(
    ErrorCodes.REENTRANT_QUEUE,
    `${what}() called from inside the codec's encode or sizeHint for the same stream: queue the message after the current one is queued`,
  );
}
