import type { PeerlinkError, StreamErrorCode, TransportError } from '@peerlink/stream';
import type { ReactorErrorCode } from './errors.js';

/** Why an inbound connection was refused (the keys of `stats().refused`). */
export type RefusalReason =
  | 'shutdown'
  | 'banned'
  | 'rate'
  | 'address-limit'
  | 'prefix-limit'
  | 'gate'
  | 'limit'
  | 'codec';

/**
 * A peer's id: unique for the life of the process and strictly increasing, never reused, even
 * when the same address reconnects.
 */
export type PeerId = number;

/** Why a peer was disconnected. */
export type DisconnectReason =
  /** We asked for it (`disconnect()` or `shutdown()`). */
  | { readonly kind: 'requested' }
  /** The peer closed the connection (end of stream). */
  | { readonly kind: 'left' }
  /** The peer sent bytes our codec rejects, or broke a receive limit (`error.code` says which). */
  | { readonly kind: 'codec-violation'; readonly error: PeerlinkError<StreamErrorCode> }
  /** The peer did not read our data within `txTimeout`. */
  | { readonly kind: 'write-stale' }
  /** The peer started a message and did not complete it within `messageTimeout`. */
  | { readonly kind: 'read-stale' }
  /** Opt-in (`handshakeTimeout`): the peer was not marked `ready()` in time. */
  | { readonly kind: 'handshake-timeout' }
  /** `ban()` matched the peer's address. */
  | { readonly kind: 'banned' }
  /** Opt-in (`evictInbound`): the inbound table was full and this peer made room for a new one. */
  | { readonly kind: 'evicted' }
  /** Opt-in (`idleTimeout`): no byte arrived from the peer for `idleTimeout` ms. */
  | { readonly kind: 'idle' }
  /** The transport failed (for example a reset: `error.code === 'ECONNRESET'`). */
  | { readonly kind: 'error'; readonly error: TransportError };

/** Every event a reactor emits, discriminated by `type`. Events of one peer come in order. */
export type ReactorEvent<M, S = unknown> =
  /** An outbound connect succeeded. */
  | {
      readonly type: 'connected';
      readonly peer: PeerId;
      /** The target as given to `connect`. */
      readonly target: string;
      readonly remoteAddress: string;
      readonly localAddress: string;
    }
  /** An outbound connect failed (refused, timed out, aborted, proxy failure, ...). */
  | {
      readonly type: 'connect-failed';
      readonly target: string;
      /** `ERR_CONNECT_TIMEOUT`, `ERR_ABORTED`, `ERR_SHUTDOWN`, or the transport's error. */
      readonly error: PeerlinkError<ReactorErrorCode> | TransportError;
    }
  /** A remote peer connected to one of our listeners. */
  | {
      readonly type: 'accepted';
      readonly peer: PeerId;
      readonly remoteAddress: string;
      /** The local interface address the connection arrived on. */
      readonly localAddress: string;
    }
  /** A message from a peer, with its size on the wire in bytes. */
  | { readonly type: 'message'; readonly peer: PeerId; readonly message: M; readonly size: number }
  /** A peer is gone; exactly one per peer. */
  | {
      readonly type: 'disconnected';
      readonly peer: PeerId;
      readonly reason: DisconnectReason;
      /** The peer's state (`Reactor.state`) as it was, when one was set. */
      readonly state?: S;
    }
  /** A command named a peer that does not exist (or no longer does). */
  | { readonly type: 'no-such-peer'; readonly peer: PeerId }
  /** A message could not be queued: the peer's send buffer is full. The message is handed back. */
  | { readonly type: 'send-buffer-full'; readonly peer: PeerId; readonly message: M }
  /** A peer that refused a message can take more now. */
  | { readonly type: 'drained'; readonly peer: PeerId }
  /** A listener failed to accept a connection (for example `EMFILE`); it keeps listening. */
  | { readonly type: 'listen-error'; readonly address: string; readonly error: TransportError }
  /**
   * Opt-in (`telemetry: true`): a peer's send buffer changed. The `delta`s of one peer's events
   * add up to its `bytesQueued`.
   */
  | {
      readonly type: 'outbound-telemetry';
      readonly peer: PeerId;
      /** Room left before the send limit, in bytes. */
      readonly bytesFree: number;
      /** Bytes queued and not yet handed to the transport. */
      readonly bytesQueued: number;
      /** Change of `bytesQueued` since this peer's previous telemetry event, in bytes. */
      readonly delta: number;
      /** How long the oldest queued bytes have waited, in ms (`undefined` when none). */
      readonly oldestQueuedAge: number | undefined;
    };

/**
 * The optional message fast path of {@link Reactor.onEvent}: called for every message received,
 * in place of a `message` event (no event object is made). `size` is the message's wire size in
 * bytes.
 */
export type MessageHandler<M> = (peer: PeerId, message: M, size: number) => void;

/** What {@link Reactor.send} did with a message. */
export type SendResult = 'queued' | 'full' | 'no-such-peer';

/**
 * What {@link Reactor.sendMany} did with a list of messages: the first {@link queued} were
 * queued, in order, and will be sent; the rest were not.
 */
export interface SendManyResult {
  /** How many messages, from the start of the list, were queued (0 to the list's length). */
  readonly queued: number;
  /**
   * `'queued'` when every message was queued. Otherwise what stopped the batch at
   * `messages[queued]`: `'full'` (the send buffer has no room and the transport is blocked; a
   * `send-buffer-full` event hands that message back; wait for `drained`), `'no-such-peer'` (with
   * a `no-such-peer` event), or `'error'`: that message cannot be encoded ({@link error} says why).
   */
  readonly result: SendResult | 'error';
  /**
   * With `result` `'error'`: what {@link Reactor.send} would have thrown for `messages[queued]`
   * (`ERR_MESSAGE_TOO_LARGE`, `ERR_ENCODE_FAILURE`, or the codec's `ERR_INVALID_ARGUMENT` for a
   * message of the wrong type). `undefined` otherwise.
   */
  readonly error?: Error;
}

/** A snapshot of one peer, from {@link Reactor.stats}. Byte counts are wire bytes. */
export interface PeerStats<S = unknown> {
  readonly peer: PeerId;
  /** `outbound` when we connected, `inbound` when it connected to us. */
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string;
  readonly localAddress: string;
  /**
   * When the connection was established, on the reactor's `clock`, in whole milliseconds (with
   * the default clock, `performance.now()`: ms since the process started). Its age is
   * `clock() - connectedAt`.
   */
  readonly connectedAt: number;
  /** Bytes received. */
  readonly bytesIn: number;
  /** Bytes handed to the transport. */
  readonly bytesOut: number;
  /** Messages received (delivered as events). */
  readonly messagesIn: number;
  /** Messages queued for sending. */
  readonly messagesOut: number;
  /** Bytes queued and not yet handed to the transport. */
  readonly bytesQueued: number;
  /** Age of the oldest queued byte, in ms (`undefined` when nothing is queued). */
  readonly oldestQueuedAge: number | undefined;
  /** Capacity of the reassembly buffer, in bytes (0 when none is allocated). */
  readonly rxBufferCapacity: number;
  /** Capacity of the send buffer, in bytes (0 when none is allocated). */
  readonly txBufferCapacity: number;
  /** Reading is paused because the event queue is full. */
  readonly paused: boolean;
  /** The transport refused bytes and has not drained yet. */
  readonly blocked: boolean;
  /** Marked ready with `Reactor.ready` (see `handshakeTimeout`). */
  readonly ready: boolean;
  /** The application's per-peer state (`Reactor.state`), when one was set. */
  readonly state?: S;
}

/** A snapshot of a reactor, from {@link Reactor.stats}. */
export interface ReactorStats {
  /** Connected peers. */
  readonly peers: number;
  /** Connections still flushing after a requested disconnect. */
  readonly closing: number;
  /** Bound listeners. */
  readonly listeners: number;
  /** Outbound connects in progress. */
  readonly pendingConnects: number;
  /** Peers whose reading is paused (event queue full). */
  readonly pausedPeers: number;
  /** Events waiting in the queue. */
  readonly queuedEvents: number;
  /** The event queue's capacity. */
  readonly eventCapacity: number;
  /**
   * Counters over the reactor's whole life, departed peers included: bytes and messages received
   * and sent (bytes sent = handed to the transport; messages sent = queued).
   */
  readonly totals: {
    readonly bytesIn: number;
    readonly bytesOut: number;
    readonly messagesIn: number;
    readonly messagesOut: number;
  };
  /**
   * Peers disconnected over the reactor's whole life, by reason kind (a kind appears once it
   * happened).
   */
  readonly disconnects: { readonly [K in DisconnectReason['kind']]?: number };
  /**
   * Inbound connections refused over the reactor's whole life, by reason: `shutdown`, `banned`,
   * `rate` (`acceptRate`), `address-limit` (`maxInboundPerAddress`), `prefix-limit`
   * (`maxInboundPerPrefix`), `gate` (`acceptGate`), `limit` (`maxInbound`), `codec` (the codec
   * factory failed).
   */
  readonly refused: { readonly [K in RefusalReason]?: number };
  /** Outbound peers connected now. */
  readonly outbound: number;
  /** Bans in force. */
  readonly bans: number;
  /** One entry per connected peer (empty with `stats({ peers: false })`). */
  readonly peerStats: readonly PeerStats[];
}
