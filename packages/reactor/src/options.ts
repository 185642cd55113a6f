import type { Codec } from '@peerlink/codec';
import type { StreamConfigOptions, Transport } from '@peerlink/stream';
import type { AdmissionOptions } from './admission.js';
import type { CodecFactory } from './codec-factory.js';
import type { PeerId } from './events.js';
import type { Logger } from './log.js';
import type { Upgrade } from './upgrade.js';

/** Options of {@link Reactor}. */
export interface ReactorOptions<M, S = undefined> extends AdmissionOptions {
  /**
   * How messages map to bytes: one codec shared by every connection (then it must keep no
   * per-connection state), or a {@link CodecFactory} that makes one codec per connection. Its
   * `maxSize` drives every limit.
   */
  codec: Codec<M> | CodecFactory<M>;
  /** How connections are made and accepted (TCP, memory, TLS, yours). */
  transport: Transport;
  /**
   * A step every connection, inbound and outbound, passes through before its message stream
   * starts: a handshake on the raw bytes, then optionally a transform of every byte (a cipher).
   * An outbound connection whose upgrade fails emits `connect-failed` (`ERR_UPGRADE_FAILED` or
   * `ERR_UPGRADE_TIMEOUT`); an inbound one is closed and reported as `listen-error`, and never
   * becomes a peer. Default: none.
   */
  upgrade?: Upgrade;
  /**
   * How long an upgrade may take, in whole milliseconds, from 1 to 2^31 − 1 (the longest delay a
   * timer takes); else `ERR_INVALID_CONFIG`. Default 10000 (10 s).
   */
  upgradeTimeout?: number;
  /** Stream limits and timeouts; see `StreamConfigOptions` for the defaults. */
  config?: StreamConfigOptions;
  /**
   * Capacity of the event queue used by {@link Reactor.events}, in events. Default 1024. While it
   * is full, the reactor stops reading from the sockets whose messages would go into it. A queue
   * holds at most this many events plus one message per connected peer (delivered by a peer whose
   * data arrived while the queue was full, before it paused), plus the events that report what
   * already happened (`accepted`, `disconnected`, …), which are never held back.
   */
  eventCapacity?: number;
  /**
   * Most inbound connections at once; further ones are refused (reset) as they arrive, unless
   * `evictInbound` makes room. Default 1024.
   */
  maxInbound?: number;
  /**
   * Bytes a peer may deliver per turn of the event loop, from 1 up (`Infinity`: no limit), once
   * the node as a whole has read more than 8 times that in the turn. Default 262144 (256 KiB).
   * Past it, the peer's reading pauses until the next turn (resumed from `setImmediate`), so that
   * timers, housekeeping, connects and the other peers keep their timing while many peers flood
   * this node (Node would otherwise read up to 32 × 64 KiB per readable socket per turn). A lone
   * busy peer (at most 32 × 64 KiB, 8 default budgets, a turn) is not paused: the pause and resume
   * would cost it more than its turn delays anything. A turn is counted from its read that takes
   * the node's count since the last counted turn to one budget (the bytes before it are not
   * counted), so a peer reading one chunk a turn costs a `setImmediate` once per budget, not
   * every turn. Not applied with virtual `timers`, whose turns are not the event loop's.
   */
  readBudget?: number;
  /**
   * Most outbound connections at once, connected and in progress; a `connect` beyond it fails
   * with `ERR_OUTBOUND_LIMIT`. Default `Infinity`.
   */
  maxOutbound?: number;
  /**
   * Called with each inbound connection's remote and local address before it becomes a peer;
   * return `false` to close it at once. Default: accept all.
   */
  acceptGate?: (remoteAddress: string, localAddress: string) => boolean;
  /** Receives debug records (connects, disconnects and their reasons, limits hit). */
  logger?: Logger;
  /** A name put in front of every log message, to tell reactors in one process apart. */
  name?: string;
  /**
   * How often timeouts, staleness and idleness are checked, in milliseconds, from 1 to
   * 2^31 − 1. Default `max(10, min(1000, txTimeout / 4, messageTimeout / 4, idleTimeout / 4))`
   * (the last two only when set).
   */
  housekeepingInterval?: number;
  /**
   * How often peer buffers are shrunk, in milliseconds (counted in housekeeping intervals);
   * `Infinity` for never. Default 30000 (30 s).
   */
  shrinkInterval?: number;
  /** The clock, in milliseconds. Default `timers.now` if `timers` is given, else `performance.now`. */
  clock?: () => number;
  /**
   * The timers every deadline of the reactor runs on, and their clock: housekeeping (idle,
   * stale and handshake checks, buffer shrinking), `config.connectTimeout`, `upgradeTimeout` and
   * `shutdown`'s `flushTimeout`. Default: the platform's `setInterval` and `setTimeout` (unref'd,
   * but for `flushTimeout`) and `performance.now`. A memory transport `VirtualScheduler` fits:
   * the reactor then runs on simulated time.
   */
  timers?: ReactorTimers;
  /**
   * Disconnects a peer from which no byte arrived for this long, in milliseconds, with reason
   * `idle`: a peer that vanished without FIN or RST (cable pulled, NAT entry expired) is noticed
   * even if we never send to it. Checked by housekeeping, so a silent peer goes within
   * `idleTimeout + housekeepingInterval`. Time during which the reactor itself paused reading
   * (a full event queue) does not count. 0 turns it off. Default 0 (off): only the application
   * knows how often its protocol speaks; pair it with a periodic ping (see `examples/`).
   */
  idleTimeout?: number;
  /**
   * A handshake deadline, in milliseconds: a peer that has not been marked ready
   * (`reactor.ready(peer)`) this long after it connected is disconnected with reason
   * `handshake-timeout`. 0 turns it off. Default 0 (off: only the application knows when its
   * handshake is done). Bitcoin Core gives `version`/`verack` 60000 (60 s).
   */
  handshakeTimeout?: number;
  /**
   * The initial state of each accepted peer (see `Reactor.state`), made as it becomes a peer,
   * before its `accepted` event. Default: none (`undefined`). Outbound peers get theirs from
   * `connect(target, { state })`.
   */
  acceptState?: (info: {
    readonly peer: PeerId;
    readonly remoteAddress: string;
    readonly localAddress: string;
  }) => S;
  /**
   * Emit `outbound-telemetry` events: after each flush of a peer whose send buffer changed, its
   * free and queued bytes and the change since the previous such event. Default `false`.
   */
  telemetry?: boolean;
  /** Log every message received and every flush at debug level (costly). Default `false`. */
  trace?: boolean;
}

/** Options of {@link Reactor.connect}. */
export interface ConnectCommandOptions<S = unknown> {
  /** Cancels the attempt; the promise rejects with `ERR_ABORTED` and `connect-failed` is emitted. */
  signal?: AbortSignal;
  /** The new peer's initial state (see `Reactor.state`), set before its `connected` event. */
  state?: S;
}

/** Options of {@link Reactor.listen}. */
export interface ListenOptions {
  /**
   * Cancels the binding: the promise rejects with `ERR_ABORTED` (the signal's reason as cause)
   * and every address bound so far is closed.
   */
  signal?: AbortSignal;
}

/** Options of {@link Reactor.drained}. */
export interface DrainedOptions {
  /**
   * Stops waiting: the promise rejects with `ERR_ABORTED` (the signal's reason as cause). The
   * peer is not affected.
   */
  signal?: AbortSignal;
}

/** Options of {@link Reactor.shutdown}. */
export interface ShutdownOptions {
  /**
   * Cuts the flush short: on abort, every connection still flushing is closed at once and the
   * shutdown completes. An already aborted signal closes everything without flushing.
   */
  signal?: AbortSignal;
  /**
   * How long to keep flushing queued data before closing every connection, in milliseconds, from
   * 0 to 2^31 − 1. Default 1000. Use 0 to close at once, `Infinity` to flush until done (a peer
   * whose data stops leaving is still reset after `txTimeout`).
   */
  flushTimeout?: number;
}

/**
 * A clock and one-shot timers (the shape of the memory transport's `VirtualScheduler`, and of
 * `keep()`'s `timers`).
 */
export interface ReactorTimers {
  /** The current time, in milliseconds. */
  now(): number;
  /** Runs `callback` once after `delay` ms; returns a handle for {@link clearTimeout}. */
  setTimeout(callback: () => void, delay: number): unknown;
  /** Cancels a timer set by {@link setTimeout}. */
  clearTimeout(handle: unknown): void;
}
