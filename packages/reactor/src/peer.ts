import type { Connection, ConnectionHandler, MessageStream } from '@peerlink/stream';
import type { PeerId } from './events.js';
import type { Reactor } from './reactor.js';

type PeerState = 'open' | 'closing' | 'closed';

// The boolean state of a peer, as bits of `Peer.flags` (one small integer instead of a field each:
// an idle peer is kept as small as it can be).
const BLOCKED = 1;
const PAUSED = 2;
const DIRTY = 4;
const WANTS_DRAIN = 8;
const REMOTE_ENDED = 16;
const REPORTED = 32;
const INBOUND = 64;

/** `Date.now()` when this module loaded: `Peer.connectedAt` is kept relative to it (a small integer). */
const EPOCH_BASE = Date.now();

/** One connection the reactor manages. Its methods are the connection's handler. */
export class Peer<M> implements ConnectionHandler {
  state: PeerState = 'open';
  private flags: number;
  /** The transport closed while input was held back; report once it is delivered. */
  closedWith: Error | null | undefined;
  /** When we ended our side (ms; `undefined` before): the remote gets `txTimeout` to end its own. */
  endedAt: number | undefined;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> | undefined;
  /** The stream's message sink, made with the stream (read it after `stream`). */
  sink: (message: M, size: number) => boolean = noSink;
  /** When the peer connected, in ms after {@link EPOCH_BASE} (see {@link connectedAt}). */
  private readonly connectedSince = Date.now() - EPOCH_BASE;
  bytesIn = 0;
  bytesOut = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** Queued bytes as of the last telemetry event. */
  reportedQueued = 0;

  /** The stream, made on first use: an idle peer that never sends nor receives has none. */
  s: MessageStream<M> | undefined;

  constructor(
    readonly reactor: Reactor<M>,
    readonly id: PeerId,
    readonly conn: Connection,
    inbound: boolean,
  ) {
    this.flags = inbound ? INBOUND : 0;
  }

  /** Wall-clock time the peer connected (ms since the epoch). */
  get connectedAt(): number {
    return EPOCH_BASE + this.connectedSince;
  }

  /** The peer connected to us (accepted), not we to it. */
  get inbound(): boolean {
    return (this.flags & INBOUND) !== 0;
  }

  /** Transport refused bytes; waiting for onDrain. */
  get blocked(): boolean {
    return (this.flags & BLOCKED) !== 0;
  }
  set blocked(on: boolean) {
    this.flags = on ? this.flags | BLOCKED : this.flags & ~BLOCKED;
  }

  /** Reading paused because the event queue is full. */
  get paused(): boolean {
    return (this.flags & PAUSED) !== 0;
  }
  set paused(on: boolean) {
    this.flags = on ? this.flags | PAUSED : this.flags & ~PAUSED;
  }

  /** In the dirty list: a flush is scheduled. */
  get dirty(): boolean {
    return (this.flags & DIRTY) !== 0;
  }
  set dirty(on: boolean) {
    this.flags = on ? this.flags | DIRTY : this.flags & ~DIRTY;
  }

  /** A send was refused; emit `drained` when there is room. */
  get wantsDrain(): boolean {
    return (this.flags & WANTS_DRAIN) !== 0;
  }
  set wantsDrain(on: boolean) {
    this.flags = on ? this.flags | WANTS_DRAIN : this.flags & ~WANTS_DRAIN;
  }

  /** The remote side ended; close once our queue is flushed. */
  get remoteEnded(): boolean {
    return (this.flags & REMOTE_ENDED) !== 0;
  }
  set remoteEnded(on: boolean) {
    this.flags = on ? this.flags | REMOTE_ENDED : this.flags & ~REMOTE_ENDED;
  }

  /** The `disconnected` event went out. */
  get reported(): boolean {
    return (this.flags & REPORTED) !== 0;
  }
  set reported(on: boolean) {
    this.flags = on ? this.flags | REPORTED : this.flags & ~REPORTED;
  }

  get stream(): MessageStream<M> {
    if (this.s === undefined) {
      this.s = this.reactor.newStream();
      const reactor = this.reactor;
      this.sink = (message, size) => reactor.deliver(this, message, size);
    }
    return this.s;
  }

  onData(chunk: Uint8Array): void {
    this.reactor.handleData(this, chunk);
  }

  onDrain(): void {
    this.reactor.handleDrain(this);
  }

  onEnd(): void {
    this.reactor.handleEnd(this);
  }

  onClose(error: Error | undefined): void {
    this.reactor.handleClose(this, error);
  }
}

function noSink(): boolean {
  return false;
}
