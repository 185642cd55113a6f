import type { Codec } from '@peerlink/codec';
import { invalidArgument, resolveStreamConfig, type StreamConfig } from '@peerlink/stream';
import { checkSignal, untilAborted } from './abort.js';
import { Admission, type Ban } from './admission.js';
import { checkFunction, checkObject, checkPeer, checkReactorOptions } from './args.js';
import { checkCodec, isCodecFactory } from './codec-factory.js';
import { Connects } from './connects.js';
import { EventQueue } from './event-queue.js';
import type {
  MessageHandler,
  PeerId,
  PeerStats,
  ReactorEvent,
  ReactorStats,
  SendManyResult,
  SendResult,
} from './events.js';
import { Housekeeping } from './housekeeping.js';
import { Inbound } from './inbound.js';
import { Log } from './log.js';
import type {
  ConnectCommandOptions,
  DrainedOptions,
  ListenOptions,
  ReactorOptions,
  ReactorTimers,
  ShutdownOptions,
} from './options.js';
import { Outbound } from './outbound.js';
import { reactorHost } from './peer-host.js';
import { Registry } from './registry.js';
import { closeAll } from './shutdown.js';
import { snapshot } from './stats.js';
import { Turn } from './turn.js';
import { Upgrades } from './upgrade.js';
import { flushTimeoutOf, nonNegative, noop, noSuchPeer, positiveInt } from './util.js';

/**
 * The peer manager: listens, connects, tracks peers, frames messages through a
 * `MessageStream` per connection, and reports everything as {@link ReactorEvent}s.
 *
 * Commands are plain method calls ({@link connect}, {@link send}, {@link disconnect},
 * {@link shutdown}). Events are consumed with synchronous listeners ({@link onEvent}, the fast
 * path) and bounded async iterables ({@link events}), as many of each as needed; while an
 * iterator's consumer lags, the reactor pauses the sockets whose messages would overflow it.
 *
 * Outbound, messages sent in the same turn of the event loop are written to the transport
 * together, in one write, in a microtask; a run of sends that fills the send buffer is written
 * at once, as it fills, while the transport takes it. A full send buffer behind a blocked
 * transport refuses a message (`'full'`, and a `send-buffer-full` event handing it back);
 * {@link drained} tells the sender when to go on, so messages are never resent out of order.
 */
export class Reactor<M, S = undefined> {
  /** The resolved stream configuration shared by every peer. */
  readonly config: StreamConfig;
  private readonly clock: () => number;
  private readonly log: Log;
  /** The peers, and what the parts below share about them (`stopping` among it). */
  private readonly registry: Registry<M>;
  /** Listening and accepting. */
  private readonly inbound: Inbound<M, S>;
  /** Connecting. */
  private readonly outbound: Outbound<M, S>;
  /** The connection upgrade, if any, and the upgrades in progress. */
  private readonly upgrades: Upgrades | undefined;
  private readonly admission: Admission;
  private readonly queue: EventQueue<M>;
  private readonly housekeeping: Housekeeping<M>;
  /** `options.timers`, if given: every deadline, and {@link keep}'s waits, run on them. */
  readonly timers: ReactorTimers | undefined;
  private shutdownPromise: Promise<void> | undefined;
  /** `shutdown`'s `signal`, which cuts its flush short. */
  private shutdownSignal: AbortSignal | undefined;

  constructor(options: ReactorOptions<M, S>) {
    const unchecked: unknown = options;
    checkReactorOptions(unchecked);
    const transport = options.transport;
    const codec = options.codec;
    const config = resolveStreamConfig(codec.maxSize, options.config);
    this.config = config;
    const capacity = positiveInt('eventCapacity', options.eventCapacity ?? 1024);
    const maxInbound = positiveInt('maxInbound', options.maxInbound ?? 1024, true);
    const admission = new Admission(options);
    this.admission = admission;
    const handshakeTimeout = nonNegative('handshakeTimeout', options.handshakeTimeout ?? 0);
    const maxOutbound = positiveInt(
      'maxOutbound',
      options.maxOutbound ?? Number.POSITIVE_INFINITY,
      true,
    );
    const timers = options.timers;
    this.timers = timers;
    const clock =
      options.clock ?? (timers !== undefined ? () => timers.now() : () => performance.now());
    const idleTimeout = nonNegative('idleTimeout', options.idleTimeout ?? 0);
    this.clock = clock;
    const log = new Log(options.logger, options.name);
    this.log = log;
    const connects = new Connects(transport, config.connectTimeout, timers);
    this.upgrades = Upgrades.of(options, timers);
    const queue = new EventQueue<M>(
      capacity,
      clock,
      () => registry.stopping && registry.closing.size === 0 && registry.peers.size === 0,
    );
    this.queue = queue;
    const readBudget =
      timers === undefined
        ? positiveInt('readBudget', options.readBudget ?? 262_144, true)
        : Number.POSITIVE_INFINITY;
    const turn = new Turn<M>(clock, readBudget);
    const registry: Registry<M> = new Registry(
      (r) =>
        reactorHost(r, turn, queue, {
          codec: isCodecFactory(codec) ? undefined : codec,
          config,
          log,
          trace: options.trace === true && log.enabled,
          telemetry: options.telemetry === true,
          clock,
          readBudget,
        }),
      isCodecFactory(codec) ? codec : undefined,
      admission,
      queue,
      log,
      clock,
    );
    this.registry = registry;
    this.inbound = new Inbound(options, maxInbound, transport, registry, this.upgrades);
    this.outbound = new Outbound(registry, connects, this.upgrades, maxOutbound);
    this.housekeeping = new Housekeeping(
      registry,
      config,
      options,
      idleTimeout,
      handshakeTimeout,
      timers,
    );
  }

  // ------------------------------------------------------------------ commands

  /**
   * Binds every address (`host:port`; port 0 for a free port) and resolves with the bound
   * addresses, in order. If any fails (for example `EADDRINUSE`), the ones opened are closed and
   * the promise rejects with `ERR_LISTEN_FAILED` naming the address, the transport error as cause.
   */
  listen(addresses: string | readonly string[], options: ListenOptions = {}): Promise<string[]> {
    return this.inbound.listen(addresses, options);
  }

  /**
   * Lets the process exit while the reactor listens, as `net.Server.unref()` does: its listeners
   * (now and later ones) no longer keep the event loop alive. Open connections still do, as open
   * sockets do in Node; the reactor's own timers never do. Needs a transport whose listeners have
   * `unref` (TCP and TLS do; others are left as they are). Returns the reactor.
   */
  unref(): this {
    this.inbound.unref();
    return this;
  }

  /** Undoes {@link unref}: listening keeps the process alive again (the default). */
  ref(): this {
    this.inbound.ref();
    return this;
  }

  /** The bound addresses of every listener. */
  get listenAddresses(): string[] {
    return this.inbound.addresses;
  }

  /**
   * Connects to `target` (`host:port`, `[v6]:port`, or a DNS name). Emits `connected` or
   * `connect-failed`, and resolves with the new peer's id or rejects with the same error (the
   * promise never causes an unhandled rejection if you ignore it). The attempt fails with
   * `ERR_CONNECT_TIMEOUT` after `connectTimeout`, and with `ERR_ABORTED` when `signal` aborts.
   */
  connect(target: string, options: ConnectCommandOptions<S> = {}): Promise<PeerId> {
    let promise: Promise<PeerId>;
    try {
      if (typeof target !== 'string') throw invalidArgument('target', 'an address string', target);
      checkObject('options', options);
      const signal = options.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw invalidArgument('options.signal', 'an AbortSignal or undefined', signal);
      }
      promise = this.outbound.start(target, signal, options.state);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.catch(noop);
    return promise;
  }

  /**
   * Queues `message` for `peer`. Returns `'queued'`; `'full'` when the send buffer has no room and
   * the transport is blocked (a `send-buffer-full` event hands the message back; wait for
   * {@link drained}); `'no-such-peer'` (with a `no-such-peer` event) when the peer is unknown or
   * disconnecting. Throws `ERR_MESSAGE_TOO_LARGE` or `ERR_ENCODE_FAILURE` when it cannot be encoded.
   */
  send(peer: PeerId, message: M): SendResult {
    const p = this.registry.openPeer(peer);
    if (p !== undefined) return p.send(message);
    checkPeer(peer);
    this.queue.emit({ type: 'no-such-peer', peer });
    return 'no-such-peer';
  }

  /**
   * Queues `messages` in order as {@link send} would, for one lookup, clock read and flush, until
   * one is not queued ({@link SendManyResult}; a bad message does not throw, a non-array does).
   */
  sendMany(peer: PeerId, messages: readonly M[]): SendManyResult {
    if (!Array.isArray(messages)) throw invalidArgument('messages', 'an array', messages);
    const p = this.registry.openPeer(peer); // not open: `send` reports it, reading no message
    return p?.sendMany(messages) ?? { queued: 0, result: this.send(peer, messages[0] as M) };
  }

  /**
   * Whether a `send` to `peer` would be admitted now, without building a snapshot: `false` for an
   * unknown or disconnecting peer, and while its send buffer is at the send limit behind a blocked
   * transport. With `size` (the message's encoded size in bytes, as a codec `sizeHint` gives it),
   * whether a message that large fits. Cheap enough to call before every send. After a `false`,
   * a `drained` event (and `drained(peer)`) follows once the peer can take more, exactly as after
   * a refused send, so a handler can wait for it. A `true` is not a promise: a send still answers
   * `'full'` if the write made to admit it finds the transport blocked.
   */
  canSend(peer: PeerId, size = 0): boolean {
    const p = this.registry.peers.get(peer);
    if (p === undefined) checkPeer(peer);
    return p !== undefined && p.state === 'open' && p.canSend(size);
  }

  /**
   * Bytes queued for `peer` and not yet handed to the transport, or `undefined` for an unknown or
   * disconnecting peer. Cheap (no snapshot); `peerStats(peer)` has the rest.
   */
  queuedBytes(peer: PeerId): number | undefined {
    const p = this.registry.peers.get(peer);
    if (p === undefined) checkPeer(peer);
    return p === undefined || p.state !== 'open' ? undefined : p.queuedBytes;
  }

  /**
   * Resolves when `peer` can take more messages: at once if its send buffer has room and nothing
   * was refused, else once it drains. Rejects with `ERR_NO_SUCH_PEER` for a peer that is unknown or
   * already disconnected, and with `ERR_PEER_DISCONNECTED` when the peer disconnects while the
   * caller waits (a shutdown disconnects every peer). Ignoring the promise never causes an
   * unhandled rejection.
   */
  drained(peer: PeerId, options: DrainedOptions = {}): Promise<void> {
    const p = this.registry.peers.get(peer);
    let promise: Promise<void>;
    try {
      checkObject('options', options);
      const signal = checkSignal('options.signal', options.signal);
      promise =
        typeof peer !== 'number'
          ? Promise.reject(invalidArgument('peer', 'a peer id (a number)', peer))
          : p === undefined || p.state !== 'open'
            ? Promise.reject(noSuchPeer(peer))
            : untilAborted(p.drained(), signal, `drained(${peer})`);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.catch(noop);
    return promise;
  }

  /**
   * Disconnects `peer`: emits `disconnected` with reason `requested` at once and accepts no more
   * messages for it, but still delivers what was already queued (within `txTimeout`) before the
   * connection ends. Unknown peers get a `no-such-peer` event. Returns whether the peer existed.
   */
  disconnect(peer: PeerId): boolean {
    const p = this.registry.peers.get(peer);
    if (p === undefined || p.state !== 'open') {
      checkPeer(peer);
      this.queue.emit({ type: 'no-such-peer', peer });
      return false;
    }
    p.disconnect({ kind: 'requested' });
    return true;
  }

  /**
   * Replaces `peer`'s codec, for a protocol whose framing changes (after a handshake) or whose
   * parsing depends on what was negotiated. Returns `false`, doing nothing, when the peer is
   * unknown or disconnecting. Throws `ERR_CODEC_FAILURE` when `codec` is not a codec or declares a
   * `maxSize` above the reactor's (the limits stay those the reactor was configured with).
   *
   * Safe from an event handler. From the synchronous `onEvent` handler, during a message's
   * delivery, the very next bytes of the connection are decoded with the new codec. With
   * `events()`, decoding runs ahead of the consumer; to switch at an exact point, let the old
   * codec answer `incomplete` after its last message (as a handshake codec does after the
   * handshake): the bytes it left are decoded with the new codec as soon as it is set, even if
   * no more bytes arrive. Messages already decoded are delivered as they were decoded.
   */
  setCodec(peer: PeerId, codec: Codec<M>): boolean {
    const p = this.registry.peers.get(peer);
    if (p === undefined) checkPeer(peer);
    if (p === undefined || p.state !== 'open') return false;
    checkCodec(codec, this.config.maxSize);
    p.setCodec(codec);
    return true;
  }

  /**
   * The application's state of `peer` (set with `connect(target, { state })`, the `acceptState`
   * option, or {@link setState}), or `undefined` for an unknown peer or one without state. The
   * `disconnected` event carries the last state, since the peer is gone by then.
   */
  state(peer: PeerId): S | undefined {
    return this.registry.peers.get(peer)?.slot as S | undefined;
  }

  /** Sets `peer`'s state; returns whether the peer is connected (else nothing is set). */
  setState(peer: PeerId, state: S): boolean {
    const p = this.registry.peers.get(peer);
    if (p === undefined || p.state !== 'open') return false;
    p.slot = state;
    return true;
  }

  /**
   * Marks `peer` ready: its handshake is done, and `handshakeTimeout` no longer applies to it.
   * Returns whether the peer is connected. Idempotent.
   */
  ready(peer: PeerId): boolean {
    const p = this.registry.peers.get(peer);
    if (p === undefined || p.state !== 'open') return false;
    p.markReady();
    return true;
  }

  /**
   * Bans `target` for `ms` milliseconds (default 86400000, 24 h, Bitcoin Core's default ban time;
   * `Infinity`: until `unban`): an IP address (`203.0.113.7`, `2001:db8::1`), a prefix
   * (`203.0.113.0/24`, `2001:db8::/32`), or a host name on transports without IPs. Every
   * connected peer that matches, inbound or outbound, is disconnected at once with reason
   * `banned`; new inbound connections from it are refused (reset), and `connect` to it fails with
   * `ERR_BANNED`. Banning the same target again sets its expiry anew. Returns how many peers were
   * disconnected. Throws `ERR_INVALID_ARGUMENT` for a malformed target or duration.
   */
  ban(target: string, ms = 86_400_000): number {
    if (typeof ms !== 'number' || !(ms > 0)) {
      throw invalidArgument('ms', 'a positive number of milliseconds (Infinity: until unban)', ms);
    }
    const now = this.clock();
    this.admission.ban(target, now + ms);
    let dropped = 0;
    for (const p of [...this.registry.peers.values()]) {
      if (p.state === 'open' && this.admission.isBanned(p.conn.remoteAddress, now)) {
        if (this.log.enabled) this.log.write('debug', { peer: p.id, target }, 'banned');
        p.kick({ kind: 'banned' });
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Lifts the ban on exactly `target` (the same address or prefix given to {@link ban}); returns
   * whether there was one. A narrower or wider ban that also matches stays.
   */
  unban(target: string): boolean {
    return this.admission.unban(target);
  }

  /** The bans in force, normalized (`203.0.113.0/24`), with when each ends (ms, reactor clock). */
  bans(): Ban[] {
    return this.admission.bans(this.clock());
  }

  /** Ids of the connected peers, in increasing order. */
  get peerIds(): PeerId[] {
    return [...this.registry.peers.keys()];
  }

  /** Number of connected peers. */
  get peerCount(): number {
    return this.registry.peers.size;
  }

  /**
   * Shuts down: stops listening, aborts pending connects (they reject with `ERR_SHUTDOWN`), reports
   * every peer `disconnected` (`requested`), flushes queued data for up to `flushTimeout` ms, then
   * closes every connection. Pending {@link drained} promises reject; the event iterator ends once
   * its queued events are consumed. Calling it again returns the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.shutdownPromise === undefined) {
      let flushTimeout: number;
      try {
        flushTimeout = flushTimeoutOf(options);
        this.shutdownSignal = checkSignal('options.signal', options.signal);
      } catch (error) {
        return Promise.reject(error);
      }
      // Before anything else: an event handler run by the shutdown itself must already see it.
      this.registry.stopping = true;
      this.shutdownPromise = closeAll(
        this.registry,
        this.inbound,
        this.outbound,
        this.upgrades,
        this.housekeeping,
        this.timers,
        flushTimeout,
        this.shutdownSignal,
      );
    }
    return this.shutdownPromise;
  }

  // ------------------------------------------------------------------ events

  /**
   * Adds a synchronous event listener and returns the function that removes it. Every event is
   * passed to it as it happens, with no queueing (the fast path). Any number of listeners (and
   * {@link events} iterators) can subscribe: each sees every event from its subscription on, in
   * the same order, listeners in the order they were added. Events emitted while nobody listened
   * are handed to the first subscriber first.
   *
   * An exception thrown by a listener does not disturb the reactor or the other listeners: the
   * event still reaches the rest, the listener stays subscribed, and the exception is rethrown in
   * a microtask, where it surfaces as an uncaught exception. With several listeners, an event
   * that a listener causes (for example `no-such-peer` from a `send` inside it) reaches the
   * listeners once the current event has reached all of them; with one, at once, inside the call.
   * A listener removed during a dispatch gets nothing more, not even the current event.
   *
   * `onMessage`, when given, receives every message instead of `handler`, as
   * `(peer, message, size)`, with no event object made per message when it is the only
   * subscriber: the fastest way to consume a flood of small messages. Order is kept: a peer's
   * messages come after its `connected` or `accepted` event and before its `disconnected` event,
   * exactly as `message` events would. Its exceptions are treated like the handler's.
   *
   * @example
   * ```ts
   * const stop = reactor.onEvent(
   *   (event) => console.log(event.type, event.peer),
   *   (peer, message) => handle(peer, message),
   * );
   * stop(); // removes this listener only
   * ```
   */
  onEvent(handler: (event: ReactorEvent<M, S>) => void, onMessage?: MessageHandler<M>): () => void {
    checkFunction('handler', handler);
    checkFunction('onMessage', onMessage, true);
    // The queue carries states as `unknown`; they are the `S` this reactor was given.
    return this.queue.addListener(handler as (event: ReactorEvent<M>) => void, onMessage);
  }

  /**
   * The events as a bounded async iterable: each call is a new subscriber with its own queue of
   * `eventCapacity` events, and sees every event from the call on. While any iterator's queue is
   * full, the reactor stops reading from the sockets whose messages would go into it: a slow
   * iterator slows every peer's input down, for every subscriber. Ending the iteration (`break`,
   * or `return()`) unsubscribes it. Ends after shutdown once every queued event was consumed.
   * Several `next()` calls may wait at once; they settle in order.
   */
  events(): AsyncIterableIterator<ReactorEvent<M, S>> {
    return this.queue.iterator() as AsyncIterableIterator<ReactorEvent<M, S>>;
  }

  /** Same as {@link events}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReactorEvent<M>> {
    return this.events();
  }

  /** Events waiting: in the longest iterator queue, or kept while nobody listens. */
  get queuedEvents(): number {
    return this.queue.size;
  }

  // ------------------------------------------------------------------ stats

  /**
   * A snapshot of the reactor and, unless `options.peers` is `false`, of every peer. Pull-based:
   * nothing is counted beyond a few integers per peer until you call it. About 0.25 µs per peer
   * (2.4 ms for 10,000 peers on a 2-core machine; see `bench/stats`).
   */
  stats(options: { peers?: boolean } = {}): ReactorStats {
    checkObject('options', options);
    return snapshot(this.registry, this.inbound, this.outbound, options.peers !== false);
  }

  /** A snapshot of one peer, or `undefined` when it is not connected. */
  peerStats(peer: PeerId): PeerStats<S> | undefined {
    const p = this.registry.peers.get(peer);
    if (p === undefined) checkPeer(peer);
    return p?.describe(this.clock()) as PeerStats<S> | undefined;
  }
}
