import type { Codec } from '@peerlink/codec';
import {
  type Connection,
  type ConnectionHandler,
  codeOf,
  ErrorCodes,
  MessageStream,
  PeerlinkError,
  type StreamErrorCode,
} from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import type { DisconnectReason, PeerId, PeerStats, SendResult } from './events.js';
import type { PeerHost } from './peer-host.js';

type PeerState = 'open' | 'closing' | 'closed';

// The boolean state of a peer, as bits of `Peer.flags` (one small integer instead of a field each:
// an idle peer is kept as small as it can be). Whether the transport is blocked is the stream's.
/** Reading paused because the event queue is full. */
const PAUSED = 2;
/** A flush is scheduled. */
const DIRTY = 4;
/** A send was refused; emit `drained` when there is room. */
const WANTS_DRAIN = 8;
/** The remote side ended; close once our queue is flushed. */
const REMOTE_ENDED = 16;
/** The `disconnected` event went out. */
const REPORTED = 32;
/** The peer connected to us. */
const INBOUND = 64;
/** Marked ready (`Reactor.ready`): the handshake deadline no longer applies. */
const READY = 128;
/** Reading paused until the next turn of the event loop: the read budget of this one is spent. */
const BUDGET = 256;

/**
 * One connection the reactor manages, and its state machine: it is the connection's handler
 * (data, drain, end, close), frames through its {@link MessageStream}, pauses its reading while the
 * event queue is full, flushes its queue, and goes `open` → (`closing`) → `closed`, reporting its
 * one `disconnected` event on the way. It reaches the reactor only through its {@link PeerHost}.
 */
export class Peer<M> implements ConnectionHandler {
  state: PeerState = 'open';
  private flags: number;
  /** The application's per-peer state (`Reactor.state`); `undefined` when none was set. */
  slot: unknown;
  /** The transport closed while input was held back; report once it is delivered. */
  private closedWith: Error | null | undefined;
  /** When we ended our side (ms; `undefined` before): the remote gets `txTimeout` to end its own. */
  private endedAt: number | undefined;
  private waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> | undefined;
  /** The stream's message sink, made with the stream (read it after `stream`). */
  private sink: (message: M, size: number) => boolean = noSink;
  /**
   * When the peer connected, on the host's clock, in whole milliseconds (a small integer with the
   * default clock: an idle peer is kept small).
   */
  readonly connectedAt: number;
  /**
   * When bytes last arrived, or reading last resumed (ms, host clock): the idle timeout counts
   * from here.
   */
  private lastRx: number;
  bytesIn = 0;
  bytesOut = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** Queued bytes as of the last telemetry event. */
  private reportedQueued = 0;
  /** Bytes delivered in read turn {@link readTurn} (see `PeerHost.readBudget`). */
  private turnBytes = 0;
  private readTurn = -1;

  /** The stream, made on first use: an idle peer that never sends nor receives has none. */
  private s: MessageStream<M> | undefined;
  /** This connection's own codec (from a codec factory, or set by `setCodec`). */
  private codec: Codec<M> | undefined;

  constructor(
    private readonly host: PeerHost<M>,
    readonly id: PeerId,
    readonly conn: Connection,
    inbound: boolean,
    codec?: Codec<M>,
  ) {
    this.flags = inbound ? INBOUND : 0;
    this.codec = codec;
    this.connectedAt = Math.floor(host.clock());
    this.lastRx = this.connectedAt;
  }

  /** The peer connected to us (accepted), not we to it. */
  get inbound(): boolean {
    return this.has(INBOUND);
  }

  /** The transport refused bytes and has not drained since (kept by the stream). */
  get blocked(): boolean {
    return this.s?.isBlocked === true;
  }

  /** Reading paused because the event queue is full. */
  get paused(): boolean {
    return this.has(PAUSED);
  }

  private has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  private set(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }

  private get stream(): MessageStream<M> {
    if (this.s === undefined) {
      const host = this.host;
      this.s = new MessageStream((this.codec ?? host.codec)!, host.config);
      this.sink = (message, size) => {
        if (this.state !== 'open') return false;
        this.messagesIn++;
        if (host.trace) host.log.write('debug', { peer: this.id, size }, 'message');
        return host.deliver(this.id, message, size);
      };
    }
    return this.s;
  }

  // ------------------------------------------------------------------ connection callbacks

  onData(chunk: Uint8Array): void {
    if (this.state !== 'open') return;
    this.bytesIn += chunk.length;
    const host = this.host;
    // The last guard at the transport boundary: nothing thrown on the receive path may escape
    // into the transport's callback (a socket listener); it ends this peer only.
    try {
      const stream = this.stream;
      const now = host.turnClock();
      this.lastRx = now;
      // A transport whose chunks are never reused lets a codec keep views of them, uncopied.
      const error = stream.handleData(chunk, this.sink, now, this.conn.stableChunks === true);
      if (error !== undefined) this.violation(error);
      else if (this.state === 'open' && (stream.hasBufferedInput || host.eventQueueFull())) {
        // Held-back input, or a full queue even though the last message ended with the chunk
        // (nothing held back): either way, no more input until the consumer catches up.
        this.pause();
      }
      if (host.readBudget !== Number.POSITIVE_INFINITY) this.spend(chunk.length);
    } catch (cause) {
      this.receiveThrew(cause);
    }
  }

  /**
   * Something on the receive path threw (the stream itself never does; its sink or a logger
   * might): the peer is disconnected as a codec violation, the stream's error (or the exception,
   * as `cause`) its reason, and the connection closed. Never throws.
   */
  private receiveThrew(cause: unknown): void {
    try {
      const error =
        this.s?.error ??
        new PeerlinkError(ErrorCodes.SINK_FAILURE, 'the receive path threw', { cause });
      this.drop({ kind: 'codec-violation', error }, 'close');
    } catch {
      try {
        this.conn.close();
      } catch {}
      this.release();
    }
  }

  onDrain(): void {
    if (this.state === 'closed') return;
    this.stream.handleDrain(this.host.clock());
    this.flush();
  }

  /** The transport, still blocked, passed on part of a large write: write progress. */
  onProgress(): void {
    if (this.state === 'closed') return;
    this.stream.handleProgress(this.host.clock());
  }

  onEnd(): void {
    if (this.state === 'closed') return;
    this.set(REMOTE_ENDED, true);
    if (this.state === 'open' && this.s?.hasBufferedInput === true) return; // after delivery
    this.endOfStream();
  }

  onClose(error: Error | undefined): void {
    if (this.state === 'closed') return;
    if (this.state === 'open' && this.s?.hasBufferedInput === true) {
      this.closedWith = error ?? null; // deliver the held-back input first
      return;
    }
    this.transportClosed(error);
  }

  // ------------------------------------------------------------------ reading

  /** Counts `n` bytes against this turn's read budget; pauses reading once it is spent. */
  private spend(n: number): void {
    const host = this.host;
    const turn = host.readTurn();
    if (this.readTurn !== turn) {
      this.readTurn = turn;
      this.turnBytes = 0;
    }
    this.turnBytes += n;
    if (this.turnBytes < host.readBudget || this.state !== 'open' || this.has(BUDGET)) return;
    this.set(BUDGET, true);
    host.budgetSpent(this);
    this.conn.pause();
  }

  /** A new turn of the event loop: reads on, unless paused for the event queue meanwhile. */
  budgetRenewed(): void {
    this.set(BUDGET, false);
    this.turnBytes = 0;
    if (this.state === 'open' && !this.paused) this.conn.resume();
  }

  /** Stops reading until the event queue has room (the host calls {@link resume} then). */
  private pause(): void {
    if (this.paused) return;
    this.set(PAUSED, true);
    this.host.paused(this);
    this.conn.pause();
  }

  /**
   * The event queue has room again: delivers held-back input, then either reads on, pauses
   * again, or reports the end or close that was held back behind that input.
   */
  resume(now: number): void {
    this.set(PAUSED, false);
    if (this.state !== 'open') return;
    this.lastRx = now; // we were not reading: the peer was not idle meanwhile
    try {
      const stream = this.stream;
      const error = stream.resumeReceive(this.sink, now);
      if (error !== undefined) this.violation(error);
      else if (stream.hasBufferedInput || this.host.eventQueueFull()) this.pause();
      else if (this.closedWith !== undefined) this.transportClosed(this.closedWith ?? undefined);
      else if (this.has(REMOTE_ENDED)) this.endOfStream();
      else if (!this.has(BUDGET)) this.conn.resume(); // else at the turn's end
    } catch (cause) {
      this.receiveThrew(cause);
    }
  }

  /**
   * Replaces this connection's codec (see `Reactor.setCodec`); the peer is `open`. Input the old
   * codec left as a partial message is decoded with the new one after the current delivery.
   */
  setCodec(codec: Codec<M>): void {
    this.codec = codec;
    const s = this.s;
    if (s === undefined) return;
    s.setCodec(codec);
    if (s.bufferedBytes > 0) queueMicrotask(() => this.decodeBuffered());
  }

  private decodeBuffered(): void {
    if (this.state !== 'open' || this.paused) return; // a paused peer decodes when resumed
    try {
      const stream = this.stream;
      const error = stream.decodeBuffered(this.sink, this.host.clock());
      if (error !== undefined) this.violation(error);
      else if (this.state === 'open' && (stream.hasBufferedInput || this.host.eventQueueFull())) {
        this.pause();
      }
    } catch (cause) {
      this.receiveThrew(cause); // a microtask: an exception here would be uncaught
    }
  }

  // ------------------------------------------------------------------ sending

  /**
   * Queues `message` (the peer is `open`). Returns `'queued'`; `'full'` when the send buffer has
   * no room and the transport is blocked; `'no-such-peer'` when an event handler disconnected the
   * peer during the flush made to admit it. Emits the matching event for the last two.
   */
  send(message: M): SendResult {
    const host = this.host;
    if (!this.stream.queue(message, host.turnClock()) && !this.flushToAdmit(message)) {
      if (this.state !== 'open') {
        host.emit({ type: 'no-such-peer', peer: this.id });
        return 'no-such-peer';
      }
      // Logged once per refusal episode, not for every retry before the drain.
      if (!this.has(WANTS_DRAIN) && host.log.enabled) {
        host.log.write(
          'debug',
          { peer: this.id, queued: this.stream.queuedBytes },
          'send buffer full',
        );
      }
      this.set(WANTS_DRAIN, true);
      host.emit({ type: 'send-buffer-full', peer: this.id, message });
      return 'full';
    }
    this.messagesOut++;
    if (!this.has(DIRTY) && !this.blocked) {
      this.set(DIRTY, true);
      host.scheduleFlush(this);
    }
    return 'queued';
  }

  /**
   * The send buffer refused `message`: if the transport is not blocked, write what is queued now
   * instead of at the end of the turn, and queue `message` again. So a sender is refused only
   * when the transport is blocked too, and a long run of sends streams out in slab-sized writes.
   */
  private flushToAdmit(message: M): boolean {
    if (this.blocked || !this.stream.hasQueuedData) return false;
    // The flush may emit events (telemetry, `drained`) whose handlers send to this peer too:
    // those messages are queued first, and `send` answers 'queued' to them first, so the wire
    // order stays the order of the 'queued' answers.
    this.flush();
    return this.state === 'open' && this.stream.queue(message, this.host.turnClock());
  }

  /** Bytes queued and not yet handed to the transport. */
  get queuedBytes(): number {
    return this.s?.queuedBytes ?? 0;
  }

  /**
   * Whether `send` would admit a message of `size` bytes now (see `Reactor.canSend`). A `false`
   * arms the drain signal, as a refused send does: `drained` follows once there is room.
   */
  canSend(size: number): boolean {
    const s = this.s;
    if (s === undefined) return size <= this.host.config.txLimit;
    const limit = s.config.txLimit;
    const queued = s.queuedBytes;
    // Room as it is, or room once what is queued is written (the transport is not blocked).
    const ok =
      size === 0
        ? queued < limit || !s.isBlocked
        : queued + size <= limit || (!s.isBlocked && size <= limit);
    if (!ok) this.set(WANTS_DRAIN, true);
    return ok;
  }

  /** Resolves once the peer can take more messages (see `Reactor.drained`). */
  drained(): Promise<void> {
    if (!this.has(WANTS_DRAIN) && this.stream.freeBytes > 0) return Promise.resolve();
    this.set(WANTS_DRAIN, true);
    return new Promise((resolve, reject) => {
      this.waiters ??= [];
      this.waiters.push({ resolve, reject });
    });
  }

  /** The scheduled flush (end of the turn): the peer is no longer dirty. */
  flushScheduled(): void {
    this.set(DIRTY, false);
    this.flush();
  }

  /** Hands queued bytes to the transport until it blocks; ends a closing peer once all is out. */
  private flush(): void {
    if (this.state === 'closed' || this.blocked) return;
    const host = this.host;
    const stream = this.stream;
    const now = host.clock();
    if (host.telemetry) this.reportTelemetry(now);
    let bytes = stream.pollTransmit(now);
    if (bytes !== undefined) {
      // Usually one run of bytes; more when a large message queued behind unsent ones or the
      // codec shared a large body (no copy either way). Stop at the first write that blocks.
      do {
        this.bytesOut += bytes.length;
        if (this.has(REPORTED)) host.departed.bytesOut += bytes.length; // flushing after `disconnected`
        if (host.trace) host.log.write('debug', { peer: this.id, bytes: bytes.length }, 'flush');
        if (!this.conn.write(bytes)) {
          stream.handleBlocked(now);
          break;
        }
        bytes = stream.pollTransmit(now);
      } while (bytes !== undefined);
      if (host.telemetry) this.reportTelemetry(now);
    }
    if (this.state === 'closing') {
      if (!stream.isBlocked) this.endOurSide();
      return;
    }
    if (this.has(WANTS_DRAIN) && stream.freeBytes > 0 && !stream.isBlocked) {
      this.set(WANTS_DRAIN, false);
      const waiters = this.waiters;
      this.waiters = undefined;
      host.emit({ type: 'drained', peer: this.id });
      if (waiters !== undefined) for (const w of waiters) w.resolve();
    }
  }

  private reportTelemetry(now: number): void {
    // After `disconnected`, a peer has no more events (its queue still flushes, unreported).
    if (this.state !== 'open') return;
    const stream = this.stream;
    const queued = stream.queuedBytes;
    const delta = queued - this.reportedQueued;
    if (delta === 0) return;
    this.reportedQueued = queued;
    const oldest = stream.oldestQueued;
    this.host.emit({
      type: 'outbound-telemetry',
      peer: this.id,
      bytesFree: stream.freeBytes,
      bytesQueued: queued,
      delta,
      oldestQueuedAge: oldest === undefined ? undefined : now - oldest,
    });
  }

  // ------------------------------------------------------------------ ending

  /**
   * Disconnects the peer for `reason` (requested, left): reports it, stops taking messages,
   * flushes what is queued (within `txTimeout`), then ends the connection.
   */
  disconnect(reason: DisconnectReason): void {
    this.report(reason);
    this.beginClosing();
  }

  /** Reports `reason`, then closes (or resets) the connection at once, then releases the peer. */
  private drop(reason: DisconnectReason, how: 'close' | 'reset'): void {
    this.report(reason);
    this.state = 'closing';
    if (how === 'reset') this.conn.reset();
    else this.conn.close();
    this.release();
  }

  /** Disconnects the peer at once for `reason` (banned, evicted): reported, closed, released. */
  kick(reason: DisconnectReason): void {
    this.drop(reason, 'close');
  }

  /** When bytes last arrived, or reading last resumed (ms, host clock). */
  get lastReceivedAt(): number {
    return this.lastRx;
  }

  /** Closes the connection now, whatever is still queued, and releases the peer. */
  closeNow(): void {
    this.conn.close();
    this.release();
  }

  private violation(error: PeerlinkError<StreamErrorCode>): void {
    const log = this.host.log;
    if (log.enabled) {
      log.write(
        'debug',
        { peer: this.id, code: error.code, reason: error.message },
        'codec violation',
      );
    }
    this.drop({ kind: 'codec-violation', error }, 'close');
  }

  private endOfStream(): void {
    // The peer left: answer with our end once what we queued is out (within txTimeout).
    if (this.state === 'open') this.disconnect({ kind: 'left' });
  }

  private transportClosed(error: Error | undefined): void {
    if (this.state === 'open') {
      this.report(error === undefined ? { kind: 'left' } : { kind: 'error', error });
    }
    this.release();
  }

  /** Emits the one `disconnected` event of the peer and has the host forget it as a peer. */
  private report(reason: DisconnectReason): void {
    if (this.has(REPORTED)) return;
    this.set(REPORTED, true);
    const host = this.host;
    host.forget(this);
    if (this.paused) {
      host.unpaused(this);
      this.set(PAUSED, false);
    }
    if (this.waiters !== undefined) {
      const error = new PeerlinkError(
        ReactorErrorCodes.PEER_DISCONNECTED,
        `peer ${this.id} disconnected (${reason.kind})`,
      );
      for (const w of this.waiters) w.reject(error);
      this.waiters = undefined;
    }
    if (host.log.enabled) {
      const code = 'error' in reason ? codeOf(reason.error) : undefined;
      host.log.write('debug', { peer: this.id, reason: reason.kind, code }, 'disconnected');
    }
    host.emit(
      this.slot === undefined
        ? { type: 'disconnected', peer: this.id, reason }
        : { type: 'disconnected', peer: this.id, reason, state: this.slot },
    );
  }

  /** Stops taking messages; flushes what is queued, then ends the connection. */
  private beginClosing(): void {
    if (this.state !== 'open') return;
    // The transport already closed (its close was held back behind undelivered input): there is
    // nothing to flush and no `onClose` to come, so waiting for one would hang shutdown.
    if (this.closedWith !== undefined) {
      this.release();
      return;
    }
    this.state = 'closing';
    this.host.closing(this);
    if (this.s?.hasQueuedData !== true && !this.has(DIRTY)) this.endOurSide();
    // else: the pending flush ends it once the queue is out.
  }

  /** Half-closes a closing peer's connection once everything queued has been handed over. */
  private endOurSide(): void {
    if (this.endedAt === undefined) this.endedAt = this.host.clock();
    this.conn.end();
  }

  /** The connection is gone for good. */
  private release(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.host.released(this);
  }

  // ------------------------------------------------------------------ housekeeping

  /** Housekeeping of a connected peer: drops it when write-stale or read-stale at `now`. */
  checkStale(now: number): void {
    const s = this.s;
    if (s === undefined) return; // never sent nor received: nothing can be stale
    const log = this.host.log;
    if (s.isWriteStale(now)) {
      if (log.enabled) log.write('debug', { peer: this.id }, 'write-stale');
      this.drop({ kind: 'write-stale' }, 'reset');
    } else if (s.isReceiveStale(now)) {
      if (log.enabled) log.write('debug', { peer: this.id }, 'read-stale');
      this.drop({ kind: 'read-stale' }, 'close');
    }
  }

  /**
   * Housekeeping of a connected peer with an idle timeout: drops it (reason `idle`) when no byte
   * arrived for `timeout` ms. A peer whose reading we paused is never idle: we are not reading.
   */
  checkIdle(now: number, timeout: number): void {
    if (this.state !== 'open' || this.paused || now - this.lastRx < timeout) return;
    const log = this.host.log;
    if (log.enabled) log.write('debug', { peer: this.id, silentFor: now - this.lastRx }, 'idle');
    this.drop({ kind: 'idle' }, 'close');
  }

  /**
   * Housekeeping of a closing peer: resets it when its data does not leave in time, closes it
   * when the remote does not end its side within `txTimeout` of ours.
   */
  checkClosing(now: number): void {
    if (this.s?.isWriteStale(now) === true) this.conn.reset();
    else if (this.endedAt !== undefined && now - this.endedAt > this.host.config.txTimeout) {
      this.conn.close();
    }
  }

  /** Shrinks the stream's buffers (see `MessageStream.shrinkBuffers`). */
  shrink(): void {
    this.s?.shrinkBuffers();
  }

  /** A snapshot of the peer at `now`. */
  describe(now: number): PeerStats {
    const s = this.s;
    const oldest = s?.oldestQueued;
    return {
      peer: this.id,
      direction: this.inbound ? 'inbound' : 'outbound',
      remoteAddress: this.conn.remoteAddress,
      localAddress: this.conn.localAddress,
      connectedAt: this.connectedAt,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesQueued: s?.queuedBytes ?? 0,
      oldestQueuedAge: oldest === undefined ? undefined : now - oldest,
      rxBufferCapacity: s?.rxCapacity ?? 0,
      txBufferCapacity: s?.txCapacity ?? 0,
      paused: this.paused,
      blocked: this.blocked,
      ready: this.ready,
      ...(this.slot === undefined ? {} : { state: this.slot }),
    };
  }

  /** Marked ready with `Reactor.ready`. */
  get ready(): boolean {
    return this.has(READY);
  }

  /** Marks the peer ready: its handshake deadline no longer applies. */
  markReady(): void {
    this.set(READY, true);
  }

  /**
   * Housekeeping with a handshake deadline: drops the peer (reason `handshake-timeout`) when it
   * was not marked ready within `timeout` ms of connecting.
   */
  checkHandshake(now: number, timeout: number): void {
    if (this.state !== 'open' || this.has(READY) || now - this.connectedAt < timeout) return;
    const log = this.host.log;
    if (log.enabled) log.write('debug', { peer: this.id }, 'handshake timeout');
    this.drop({ kind: 'handshake-timeout' }, 'close');
  }
}

function noSink(): boolean {
  return false;
}
