import { type Codec, ErrorCodes, PeerlinkError } from '@peerlink/codec';
import { QueuePoints } from '@peerlink/queue-points';
import { checkNow } from './checks.js';
import type { StreamConfig } from './config.js';
import type { StreamErrorCode } from './errors.js';
import { SendQueue, SHARE_MIN } from './send-queue.js';

/** Send slabs double from `txBufMinSize` up to this size, in bytes. */
const SLAB_SIZE = 65536;

/**
 * A `MessageStream`'s send side: admission against the send limit, encoding into the send queue
 * (with the codec's answers checked and re-entry refused), handing queued bytes to the transport
 * in batches, and write staleness. The public methods are {@link MessageStream}'s send methods,
 * where they are documented. Internal to `@peerlink/stream`.
 */
export class Sender<M> {
  /** The resolved configuration. */
  readonly config: StreamConfig;
  /** The codec messages are encoded with ({@link MessageStream.setCodec} replaces it). */
  codec: Codec<M>;
  private readonly tx: SendQueue;
  private readonly points = new QueuePoints();
  private lastProgress = Number.NEGATIVE_INFINITY;
  /** Bytes queued when the current round of `pollTransmit` calls began (0 between rounds). */
  private batch = 0;
  private blockedSince = Number.NaN;
  /** A `queue` call is running (its codec's `sizeHint` or `encode`): another one is refused. */
  private queuing = false;

  constructor(codec: Codec<M>, config: StreamConfig) {
    this.codec = codec;
    this.config = config;
    this.tx = new SendQueue({
      initialCapacity: this.config.txBufMinSize,
      slabSize: Math.max(SLAB_SIZE, this.config.txBufMinSize),
    });
  }

  /** {@link MessageStream.queue}. */
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
      if (codec.encodeAt !== undefined && size < SHARE_MIN) {
        // The fused path: one reservation of the known size, the codec writes into it; nothing
        // to report, so nothing to check after. (Larger messages go through `encode`, which may
        // share their bytes rather than copy them.)
        const at = tx.reserveMessage(size);
        try {
          codec.encodeAt(message, tx.buffer, at, size);
        } catch (cause) {
          tx.truncate(size);
          if (passesThrough(cause)) throw cause;
          throw new PeerlinkError(ErrorCodes.ENCODE_FAILURE, 'codec encodeAt threw', { cause });
        }
        this.points.append(size, now);
        return true;
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

  /** {@link MessageStream.pollTransmit}. */
  pollTransmit(now: number, willRelease = false): Uint8Array | undefined {
    checkNow(now);
    // From inside `encode`, the bytes held include part of the message being encoded.
    if (this.queuing) throw reentrant('pollTransmit');
    const tx = this.tx;
    const held = tx.size;
    if (held === 0) return undefined;
    if (this.batch === 0) this.batch = held;
    const bytes = tx.take(willRelease);
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

  /** {@link MessageStream.releaseTransmitted}. */
  release(bytes: Uint8Array): void {
    this.tx.release(bytes);
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

  /** {@link MessageStream.isWriteStale}. */
  isWriteStale(now: number): boolean {
    checkNow(now);
    const timeout = this.config.txTimeout;
    if (now - this.lastProgress <= timeout) return false;
    const oldest = this.points.oldest();
    if (oldest !== undefined && now - oldest > timeout) return true;
    return now - this.blockedSince > timeout;
  }

  /** The send half of {@link MessageStream.shrinkBuffers}. */
  shrink(): void {
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

function tooLarge(size: number, maxSize: number): PeerlinkError<StreamErrorCode> {
  return new PeerlinkError(
    ErrorCodes.MESSAGE_TOO_LARGE,
    `message of ${size} bytes exceeds maxSize ${maxSize}`,
  );
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
