import type { Codec } from '@peerlink/codec';
import {
  type Connection,
  codeOf,
  type MessageStream,
  PeerlinkError,
  type StreamErrorCode,
} from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import type { DisconnectReason, PeerId, PeerStats } from './events.js';
import type { PeerHost } from './peer-host.js';

type PeerState = 'open' | 'closing' | 'closed';

// The boolean state of a peer, as bits of `Peer.flags` (one small integer instead of a field each:
// an idle peer is kept as small as it can be). Whether the transport is blocked is the stream's.
/** Reading paused because the event queue is full. */
export const PAUSED = 2;
/** A flush is scheduled. */
export const DIRTY = 4;
/** A send was refused; emit `drained` when there is room. */
export const WANTS_DRAIN = 8;
/** The remote side ended; close once our queue is flushed. */
export const REMOTE_ENDED = 16;
/** The `disconnected` event went out. */
export const REPORTED = 32;
/** The peer connected to us. */
const INBOUND = 64;
/** Marked ready (`Reactor.ready`): the handshake deadline no longer applies. */
const READY = 128;
/** Reading paused until the next turn of the event loop: the read budget of this one is spent. */
export const BUDGET = 256;

type Waiter = { resolve: () => void; reject: (error: Error) => void };

/**
 * The part of a peer's state that only a peer that sent, received, or is closing needs: made on
 * first use ({@link PeerLifecycle.work}), so an idle peer does not carry it (issue 15: idle heap
 * per connection). Internal.
 */
export class PeerIo<M> {
  /** The stream's message sink, made with the stream. */
  sink: (message: M, size: number) => boolean = noSink;
  bytesIn = 0;
  bytesOut = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** Queued bytes as of the last telemetry event. */
  reportedQueued = 0;
  /** Bytes delivered in read turn {@link readTurn} (see `PeerHost.readBudget`). */
  turnBytes = 0;
  readTurn = -1;
  /** The transport closed while input was held back; report once it is delivered. */
  closedWith: Error | null | undefined = undefined;
  /** When we ended our side (ms; `undefined` before): the remote gets `txTimeout` to end its own. */
  endedAt: number | undefined = undefined;
  waiters: Waiter[] | undefined = undefined;
  /** The application's per-peer state (`Reactor.state`); `undefined` when none was set. */
  slot: unknown = undefined;
  /** This connection's own codec (from a codec factory, or set by `setCodec`). */
  codec: Codec<M> | undefined = undefined;
}

/** The sink of a peer whose stream is not made yet: takes nothing. */
export function noSink(): boolean {
  return false;
}

/**
 * A peer's state and how it ends: `open` → (`closing`) → `closed`, its one `disconnected` report
 * ("report, then close, then release" is {@link drop}), its release, the housekeeping checks that
 * end it (stale, idle, handshake deadline, a closing peer's deadlines), and its snapshot.
 * {@link Peer} adds the connection's callbacks, reading and sending on top. Internal.
 */
export abstract class PeerLifecycle<M> {
  state: PeerState = 'open';
  protected flags: number;
  /** What a peer that sent, received or is closing keeps; made on first use ({@link work}). */
  protected io: PeerIo<M> | undefined;
  /**
   * When the peer connected, on the host's clock, in whole milliseconds (a small integer with the
   * default clock: an idle peer is kept small).
   */
  readonly connectedAt: number;
  /**
   * When bytes last arrived, or reading last resumed (ms, host clock): the idle timeout counts
   * from here.
   */
  protected lastRx: number;

  /** The stream, made on first use: an idle peer that never sends nor receives has none. */
  protected s: MessageStream<M> | undefined;

  constructor(
    protected readonly host: PeerHost<M>,
    readonly id: PeerId,
    readonly conn: Connection,
    inbound: boolean,
    codec?: Codec<M>,
  ) {
    this.flags = inbound ? INBOUND : 0;
    if (codec !== undefined) this.work.codec = codec;
    this.connectedAt = Math.floor(host.clock());
    this.lastRx = this.connectedAt;
  }

  /** {@link io}, made now if it was not. */
  protected get work(): PeerIo<M> {
    let io = this.io;
    if (io === undefined) {
      io = new PeerIo();
      this.io = io;
    }
    return io;
  }

  // The fields kept in `io`, read as 0 / `undefined` while there is none (an idle peer).
  get bytesIn(): number {
    return this.io?.bytesIn ?? 0;
  }
  set bytesIn(n: number) {
    this.work.bytesIn = n;
  }
  get bytesOut(): number {
    return this.io?.bytesOut ?? 0;
  }
  set bytesOut(n: number) {
    this.work.bytesOut = n;
  }
  get messagesIn(): number {
    return this.io?.messagesIn ?? 0;
  }
  set messagesIn(n: number) {
    this.work.messagesIn = n;
  }
  get messagesOut(): number {
    return this.io?.messagesOut ?? 0;
  }
  set messagesOut(n: number) {
    this.work.messagesOut = n;
  }
  protected get sink(): (message: M, size: number) => boolean {
    return this.io?.sink ?? noSink;
  }
  protected set sink(sink: (message: M, size: number) => boolean) {
    this.work.sink = sink;
  }
  protected get reportedQueued(): number {
    return this.io?.reportedQueued ?? 0;
  }
  protected set reportedQueued(n: number) {
    this.work.reportedQueued = n;
  }
  protected get turnBytes(): number {
    return this.io?.turnBytes ?? 0;
  }
  protected set turnBytes(n: number) {
    this.work.turnBytes = n;
  }
  protected get readTurn(): number {
    return this.io?.readTurn ?? -1;
  }
  protected set readTurn(n: number) {
    this.work.readTurn = n;
  }
  protected get closedWith(): Error | null | undefined {
    return this.io?.closedWith;
  }
  protected set closedWith(error: Error | null | undefined) {
    this.work.closedWith = error;
  }
  protected get endedAt(): number | undefined {
    return this.io?.endedAt;
  }
  protected set endedAt(at: number | undefined) {
    this.work.endedAt = at;
  }
  /** The application's per-peer state (`Reactor.state`); `undefined` when none was set. */
  get slot(): unknown {
    return this.io?.slot;
  }
  set slot(state: unknown) {
    if (state !== undefined || this.io !== undefined) this.work.slot = state;
  }
  /** This connection's own codec (from a codec factory, or set by `setCodec`). */
  protected get codec(): Codec<M> | undefined {
    return this.io?.codec;
  }
  protected set codec(codec: Codec<M> | undefined) {
    if (codec !== undefined || this.io !== undefined) this.work.codec = codec;
  }
  protected get waiters(): Waiter[] | undefined {
    return this.io?.waiters;
  }
  protected set waiters(waiters: Waiter[] | undefined) {
    if (waiters !== undefined || this.io !== undefined) this.work.waiters = waiters;
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

  protected has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  protected set(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }

  /** The event queue has room again: reads on (see {@link Peer.resume}). */
  abstract resume(now: number): void;

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
  protected drop(reason: DisconnectReason, how: 'close' | 'reset'): void {
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

  protected violation(error: PeerlinkError<StreamErrorCode>): void {
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

  protected endOfStream(): void {
    // The peer left: answer with our end once what we queued is out (within txTimeout).
    if (this.state === 'open') this.disconnect({ kind: 'left' });
  }

  protected transportClosed(error: Error | undefined): void {
    if (this.state === 'open') {
      this.report(error === undefined ? { kind: 'left' } : { kind: 'error', error });
    }
    this.release();
  }

  /** Emits the one `disconnected` event of the peer and has the host forget it as a peer. */
  protected report(reason: DisconnectReason): void {
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
  protected beginClosing(): void {
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
  protected endOurSide(): void {
    if (this.endedAt === undefined) this.endedAt = this.host.clock();
    this.conn.end();
  }

  /** The connection is gone for good. */
  protected release(): void {
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
