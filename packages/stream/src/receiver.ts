import { type Codec, ErrorCodes, invalidArgument, PeerlinkError } from '@peerlink/codec';
import { checkCodec, checkNow } from './checks.js';
import type { StreamErrorCode } from './errors.js';
import type { MessageSink } from './message-stream.js';
import {
  EMPTY,
  HEADER_STEP,
  MIN_COPY_STEP,
  ownBuffer,
  Reassembly,
  rxLimit,
  u32Framing,
} from './reassembly.js';

/**
 * A `MessageStream`'s receive side: decodes each chunk straight from the chunk when no partial
 * message is pending, completes a pending one with bytes of the next chunk (in growing steps, or
 * to the frame's exact size for a codec whose messages view their input), and holds input back
 * when the sink asks to stop. The public methods are {@link MessageStream}'s receive methods, where
 * they are documented. Internal to `@peerlink/stream`.
 */
export class Receiver<M> extends Reassembly<M> {
  /** {@link MessageStream.handleData}. */
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

  /** {@link MessageStream.resumeReceive}. */
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

  /** {@link MessageStream.setCodec}. */
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
    this.framing = u32Framing(codec);
    this.maxMessage = Math.min(codec.maxSize, this.config.rxLimit);
  }

  /** {@link MessageStream.decodeBuffered}. */
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

  /** {@link MessageStream.isReceiveStale}. */
  isReceiveStale(now: number): boolean {
    checkNow(now);
    const limit = this.config.messageTimeout;
    return limit > 0 && now - this.partialSince > limit;
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
    if (this.framing !== undefined) {
      whole = this.framedWhole(chunk, offset, end);
    } else if (this.codec.frameSize !== undefined) {
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
      const own = owned ? chunk : copyOf(chunk, offset, whole);
      let at = owned ? offset : 0;
      const stop = owned ? whole : own.length;
      if (this.framing !== undefined) {
        // No decode result per message: the frames are walked here.
        const next = this.decodeFramed(own, at, stop, sink);
        if (next < 0) return this.failure;
        if (next > at) this.partialSince = Number.NaN;
        at = next;
      }
      while (at < stop && !this.stopped) {
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
      if (owned && frame > this.retainCap(tail)) {
        // A chunk we may keep, and a frame too large yet for its own buffer: hold the tail where
        // it is (no copy); its bytes are copied once, into the frame's buffer, when it is made.
        this.rx = chunk;
        this.rxStart = whole;
        this.rxEnd = end;
      } else {
        this.append(chunk, whole, end, frame);
      }
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
    // While the size is not known yet: small steps for a codec that will tell it (a header is a
    // few bytes; what is taken before is copied again into the frame's own buffer).
    let step = this.codec.frameSize !== undefined ? HEADER_STEP : MIN_COPY_STEP;
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
      size = this.decodeHeld(sink);
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
      if (from === chunk.length) {
        // The chunk is used up; a size that became known with it is checked now, not with the
        // next chunk.
        const known = frame < 0 ? this.frameSizeAt(this.rx, this.rxStart, this.rxEnd) : frame;
        if (known > limit) this.fail(rxLimit(known, limit));
        return -1;
      }
    }
    this.partialSince = Number.NaN;
    const excess = this.rxEnd - this.rxStart - size;
    if (excess <= from - offset) {
      // The usual case: the message ended inside bytes taken from this chunk. The buffer is the
      // message's now; go on straight from the chunk.
      this.rx = EMPTY;
      this.rxStart = this.rxEnd = 0;
      return this.goOn(chunk, from - excess);
    }
    return this.lookedAhead(chunk, from, size, sink, now);
  }

  /** Decodes straight from `chunk` (the reassembly buffer is empty), from `offset` on. */
  private decodeChunk(
    chunk: Uint8Array,
    offset: number,
    sink: MessageSink<M>,
    now: number,
  ): PeerlinkError<StreamErrorCode> | undefined {
    const end = chunk.length;
    if (this.framing !== undefined) {
      // No decode result per message: the frames are walked here; what is left (a partial or
      // faulty frame) goes the general way below.
      const at = this.decodeFramed(chunk, offset, end, sink);
      if (at < 0) return this.failure;
      if (at > offset) this.partialSince = Number.NaN;
      offset = at;
      if (this.stopped) {
        this.holdBack(chunk, offset);
        return undefined;
      }
    }
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
      return this.goOn(chunk, offset + (size - old));
    }
    return this.lookedAhead(chunk, from, size, sink, now);
  }

  /** Goes on with `chunk` from `next`, or holds the rest of it back if the sink stopped. */
  private goOn(chunk: Uint8Array, next: number): number {
    if (!this.stopped) return next;
    this.holdBack(chunk, next);
    return -1;
  }

  /**
   * A codec that completed a message of `size` bytes inside bytes it earlier called incomplete
   * (it looks ahead): go the general way through the buffer, then on with `chunk` from `from`.
   */
  private lookedAhead(
    chunk: Uint8Array,
    from: number,
    size: number,
    sink: MessageSink<M>,
    now: number,
  ): number {
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
      const size = this.decodeHeld(sink);
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

  /** The receive half of {@link MessageStream.shrinkBuffers}. */
  shrink(): void {
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
  }
}

/**
 * `chunk[from, to)` in memory of its own, written at once (so taken unfilled where that is
 * cheaper: `slice` would zero-fill it first).
 */
function copyOf(chunk: Uint8Array, from: number, to: number): Uint8Array {
  const copy = ownBuffer(to - from);
  copy.set(chunk.subarray(from, to));
  return copy;
}
