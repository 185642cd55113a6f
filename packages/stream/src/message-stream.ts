import { type Codec, invalidArgument, type PeerlinkError } from '@peerlink/codec';
import { checkCodec } from './checks.js';
import { resolveStreamConfig, type StreamConfig, type StreamConfigOptions } from './config.js';
import type { StreamErrorCode } from './errors.js';
import { Receiver } from './receiver.js';
import { Sender } from './sender.js';

/**
 * Receives each decoded message with its wire size in bytes. Return `false` to stop delivery
 * after this message: the rest of the input is kept, undecoded, until
 * {@link MessageStream.resumeReceive}. A sink should not throw: if it does, the exception
 * propagates out of `handleData`/`resumeReceive` and the stream ends with `ERR_SINK_FAILURE`.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: lets a sink be a plain `(m) => { ... }`.
export type MessageSink<M> = (message: M, size: number) => boolean | undefined | void;

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
 * A codec whose messages view their input (`retainsInput`) gets a split message assembled in a
 * buffer of its own, of exactly its declared size once that is within 16 times what arrived.
 */
export class MessageStream<M> {
  /** The resolved configuration. */
  readonly config: StreamConfig;
  /** The receive side: reassembly, decoding, delivery. */
  private readonly receiver: Receiver<M>;
  /** The send side: admission, queueing, transmission, write staleness. */
  private readonly sender: Sender<M>;

  constructor(codec: Codec<M>, config: StreamConfig | StreamConfigOptions = {}) {
    checkCodec(codec);
    if (typeof config !== 'object' || config === null) {
      throw invalidArgument('config', 'an object', config);
    }
    // A configuration resolved for a larger `maxSize` (a codec factory's) is used as it is.
    this.config =
      'rxLimit' in config && codec.maxSize <= config.maxSize
        ? (config as StreamConfig)
        : resolveStreamConfig(codec.maxSize, config);
    this.receiver = new Receiver(codec, this.config);
    this.sender = new Sender(codec, this.config);
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
    return this.receiver.handleData(chunk, sink, now, owned);
  }

  /**
   * Delivers input kept back after the sink returned `false`. Returns like {@link handleData}.
   */
  resumeReceive(sink: MessageSink<M>, now: number): PeerlinkError<StreamErrorCode> | undefined {
    return this.receiver.resumeReceive(sink, now);
  }

  /**
   * Replaces the codec, for a connection whose protocol changes (after a handshake, say). It takes
   * effect with the next message decoded or encoded, also when called from the sink during
   * delivery: the rest of the input is decoded with it. Input already buffered (a partial
   * message the old codec called incomplete) is decoded with it at the next {@link handleData},
   * or at once with {@link decodeBuffered}. The limits stay those of the configuration.
   */
  setCodec(codec: Codec<M>): void {
    this.receiver.setCodec(codec);
    this.sender.codec = codec;
  }

  /**
   * Decodes input buffered as a partial message with the current codec (after
   * {@link setCodec}). Returns like {@link handleData}. Input held back because the sink asked to
   * stop is left to {@link resumeReceive}.
   */
  decodeBuffered(sink: MessageSink<M>, now: number): PeerlinkError<StreamErrorCode> | undefined {
    return this.receiver.decodeBuffered(sink, now);
  }

  /** Whether input is held back because the sink asked to stop. */
  get hasBufferedInput(): boolean {
    return this.receiver.hasBufferedInput;
  }

  /** Bytes of a partial message (or held-back input) currently buffered. */
  get bufferedBytes(): number {
    return this.receiver.bufferedBytes;
  }

  /** Capacity of the reassembly buffer, in bytes (0 when none is allocated). */
  get rxCapacity(): number {
    return this.receiver.rxCapacity;
  }

  /** The error that ended the stream, if any. */
  get error(): PeerlinkError<StreamErrorCode> | undefined {
    return this.receiver.error;
  }

  /**
   * Whether a started message has not completed within `messageTimeout` (never, when that is 0).
   */
  isReceiveStale(now: number): boolean {
    return this.receiver.isReceiveStale(now);
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
    return this.sender.queue(message, now);
  }

  /** Whether the send buffer holds bytes not yet handed to the transport. */
  get hasQueuedData(): boolean {
    return this.sender.hasQueuedData;
  }

  /** Bytes in the send buffer not yet handed to the transport. */
  get queuedBytes(): number {
    return this.sender.queuedBytes;
  }

  /** Free room in the send buffer before the send limit, in bytes (0 when full). */
  get freeBytes(): number {
    return this.sender.freeBytes;
  }

  /** Capacity of the send buffer's current slab, in bytes (0 when none is allocated). */
  get txCapacity(): number {
    return this.sender.txCapacity;
  }

  /** When the oldest unsent bytes were queued (ms), or `undefined` when nothing is queued. */
  get oldestQueued(): number | undefined {
    return this.sender.oldestQueued;
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
   *
   * `willRelease` (default `false`): the caller will hand the bytes back with
   * {@link releaseTransmitted} once the transport no longer reads them (a transport that declares
   * `releasesWrites`), and the stream may then fill that memory again: a stream that sends as it
   * goes keeps writing into one warm slab, and a full slab is reused rather than a fresh,
   * zero-filled one allocated. Bytes taken without it are never written again. Either way only
   * this stream's own frames are ever in that memory.
   */
  pollTransmit(now: number, willRelease = false): Uint8Array | undefined {
    return this.sender.pollTransmit(now, willRelease);
  }

  /**
   * The transport no longer reads `bytes`, a view {@link pollTransmit} returned with
   * `willRelease`: the stream may write over that memory again. Call it at most once per view
   * (a `Connection.write` `release` callback does); views of memory the stream does not own
   * (large bodies shared by reference) are ignored. A function bound to this stream: pass it as
   * it is (`connection.write(bytes, stream.releaseTransmitted)`).
   */
  readonly releaseTransmitted = (bytes: Uint8Array): void => {
    this.sender.release(bytes);
  };

  /** The transport refused more bytes at `now` (its `write` returned `false`). */
  handleBlocked(now: number): void {
    this.sender.handleBlocked(now);
  }

  /** The transport drained at `now`: it accepted everything it was given. */
  handleDrain(now: number): void {
    this.sender.handleDrain(now);
  }

  /**
   * The transport, still blocked, passed on part of what it holds at `now` (its handler's
   * `onProgress`): write progress, so a slow but steady reader is not write-stale.
   */
  handleProgress(now: number): void {
    this.sender.handleProgress(now);
  }

  /** Whether the transport is blocked (refused bytes and has not drained since). */
  get isBlocked(): boolean {
    return this.sender.isBlocked;
  }

  /**
   * Whether data is not leaving in a timely manner: the oldest queued bytes (or a blocked
   * transport) have waited longer than `txTimeout`, with no write progress for as long.
   */
  isWriteStale(now: number): boolean {
    return this.sender.isWriteStale(now);
  }

  // ---------------------------------------------------------------- memory

  /**
   * Shrinks buffer capacity above the floors by a quarter (never below the floor, nor below what
   * is held); a buffer already at its floor and empty is released. Call it about every 30 s so
   * that one large message does not pin memory for the life of a peer.
   */
  shrinkBuffers(): void {
    this.receiver.shrink();
    this.sender.shrink();
  }
}
