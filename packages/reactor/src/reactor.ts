import type { Codec } from '@peerlink/codec';
import {
  type Connection,
  codeOf,
  ErrorCodes,
  invalidArgument,
  type Listener,
  PeerlinkError,
  resolveStreamConfig,
  type StreamConfig,
  type Transport,
} from '@peerlink/stream';
import { abortedError, checkSignal, untilAborted } from './abort.js';
import { Admission, type Ban, type EvictionCandidate, type RefusalReason } from './admission.js';
import { checkFunction, checkObject, checkPeer, checkReactorOptions } from './args.js';
import { type CodecFactory, checkCodec, createCodec, isCodecFactory } from './codec-factory.js';
import { Connects } from './connects.js';
import { ReactorErrorCodes } from './errors.js';
import { EventQueue } from './event-queue.js';
import type {
  DisconnectReason,
  MessageHandler,
  PeerId,
  PeerStats,
  ReactorEvent,
  ReactorStats,
  SendResult,
} from './events.js';
import { Log } from './log.js';
import type {
  ConnectCommandOptions,
  DrainedOptions,
  ListenOptions,
  ReactorOptions,
  ReactorTimers,
  ShutdownOptions,
} from './options.js';
import { Peer } from './peer.js';
import type { PeerHost, Totals } from './peer-host.js';
import { runUpgrade, type Upgrade, type UpgradeInfo } from './upgrade.js';
import {
  bannedError,
  flushTimeoutOf,
  interval,
  nonNegative,
  noop,
  noSuchPeer,
  positiveInt,
  shutdownError,
  timerInterval,
} from './util.js';

let nextPeerId = 1;

/**
 * Runs `callback` at the end of this turn of the event loop, after its I/O (`setImmediate` in
 * Node; a zero-delay timer where there is none, as in browsers).
 */
const nextTurn: (callback: () => void) => void =
  typeof setImmediate === 'function'
    ? (callback) => setImmediate(callback)
    : (callback) => setTimeout(callback, 0);

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
  private readonly transport: Transport;
  private readonly maxInbound: number;
  private readonly acceptGate: ((remote: string, local: string) => boolean) | undefined;
  private readonly clock: () => number;
  private readonly log: Log;
  /** Makes each peer's codec, when the reactor was given a factory. */
  private readonly factory: CodecFactory<M> | undefined;
  /** The connection upgrade, if any, and its deadline in ms. */
  private readonly upgrade: Upgrade | undefined;
  private readonly upgradeTimeout: number;
  /** Upgrades in progress: shutdown aborts them. */
  private readonly upgrades = new Set<AbortController>();
  /** Outbound connections still upgrading: they count against `maxOutbound`. */
  private outboundUpgrading = 0;

  private readonly peers = new Map<PeerId, Peer<M>>();
  /** The peer `send` found last: a run of sends to one peer skips the map lookup. */
  private lastSent: Peer<M> | undefined;
  /** Peers whose disconnect was requested and whose queue is still being flushed. */
  private readonly closing = new Set<Peer<M>>();
  private readonly listeners: Listener[] = [];
  private readonly connects: Connects;
  private inboundCount = 0;
  /** Counters of peers already gone, so that `stats().totals` covers the reactor's whole life. */
  private readonly departed: Totals = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  private readonly admission: Admission;
  private readonly acceptState: ReactorOptions<M, S>['acceptState'];
  /** See `ReactorOptions.handshakeTimeout` (ms; 0: off). */
  private readonly handshakeTimeout: number;
  private readonly maxOutbound: number;
  /** Outbound peers connected now (pending connects are in `connects`). */
  private outboundCount = 0;
  /** Inbound connections refused so far, by reason. */
  private readonly refused: { [K in RefusalReason]?: number } = {};
  /** Disconnects so far, by reason kind. */
  private readonly disconnects: { [K in DisconnectReason['kind']]?: number } = {};
  private readonly queue: EventQueue<M>;
  /** What every peer reaches the reactor through. */
  private readonly host: PeerHost<M>;

  private dirtyPeers: Peer<M>[] = [];
  private flushScheduled = false;
  private readonly flushAll = () => this.flush();
  /** The clock read once per turn of the event loop (see {@link turnClock}). */
  private turnNow = 0;
  private turnNowValid = false;
  private readonly expireTurnNow = () => {
    this.turnNowValid = false;
  };
  /** Turns of the event loop in which peers read (see `ReactorOptions.readBudget`). */
  private readTurn = 0;
  private readTurnEnding = false;
  /** Peers paused for the rest of this turn: their read budget is spent. */
  private budgetPaused: Peer<M>[] = [];
  private readonly endReadTurn = () => {
    this.readTurnEnding = false;
    this.readTurn++;
    const list = this.budgetPaused;
    this.budgetPaused = [];
    for (let i = 0; i < list.length; i++) list[i]!.budgetRenewed();
  };

  private readonly stopHousekeeping: () => void;
  private readonly timers: ReactorTimers | undefined;
  /** See `ReactorOptions.idleTimeout` (ms; 0: off). */
  private readonly idleTimeout: number;
  private readonly shrinkEvery: number;
  private readonly tickMs: number;
  private sinceShrink = 0;
  /** Set when `shutdown()` is called: from then on every new command fails with `ERR_SHUTDOWN`. */
  private stopping = false;
  private shutdownPromise: Promise<void> | undefined;
  /** `shutdown`'s `signal`, which cuts its flush short. */
  private shutdownSignal: AbortSignal | undefined;
  /** `unref()` was called: listeners do not keep the process alive. */
  private unrefd = false;
  private closedAll: (() => void) | undefined;

  constructor(options: ReactorOptions<M, S>) {
    const unchecked: unknown = options;
    checkReactorOptions(unchecked);
    this.transport = options.transport;
    const codec = options.codec;
    this.factory = isCodecFactory(codec) ? codec : undefined;
    const config = resolveStreamConfig(codec.maxSize, options.config);
    this.config = config;
    const capacity = positiveInt('eventCapacity', options.eventCapacity ?? 1024);
    this.maxInbound = positiveInt('maxInbound', options.maxInbound ?? 1024, true);
    this.acceptGate = options.acceptGate;
    this.admission = new Admission(options);
    this.acceptState = options.acceptState;
    this.handshakeTimeout = nonNegative('handshakeTimeout', options.handshakeTimeout ?? 0);
    this.maxOutbound = positiveInt(
      'maxOutbound',
      options.maxOutbound ?? Number.POSITIVE_INFINITY,
      true,
    );
    const timers = options.timers;
    this.timers = timers;
    const clock =
      options.clock ?? (timers !== undefined ? () => timers.now() : () => performance.now());
    this.idleTimeout = nonNegative('idleTimeout', options.idleTimeout ?? 0);
    this.clock = clock;
    const log = new Log(options.logger, options.name);
    this.log = log;
    this.connects = new Connects(this.transport, config.connectTimeout);
    this.upgrade = options.upgrade;
    this.upgradeTimeout = positiveInt('upgradeTimeout', options.upgradeTimeout ?? 10_000);
    const queue = new EventQueue<M>(
      capacity,
      clock,
      () => this.stopping && this.closing.size === 0 && this.peers.size === 0,
    );
    this.queue = queue;
    this.host = {
      codec: isCodecFactory(codec) ? undefined : codec,
      config,
      log,
      trace: options.trace === true && log.enabled,
      telemetry: options.telemetry === true,
      departed: this.departed,
      clock,
      turnClock: () => this.turnClock(),
      emit: (event) => {
        if (event.type === 'disconnected') {
          const kind = event.reason.kind;
          this.disconnects[kind] = (this.disconnects[kind] ?? 0) + 1;
        }
        queue.emit(event);
      },
      deliver: queue.deliver,
      eventQueueFull: () => queue.full,
      readBudget:
        timers === undefined
          ? positiveInt('readBudget', options.readBudget ?? 262_144, true)
          : Number.POSITIVE_INFINITY,
      readTurn: () => {
        if (!this.readTurnEnding) {
          this.readTurnEnding = true;
          nextTurn(this.endReadTurn);
        }
        return this.readTurn;
      },
      budgetSpent: (p) => this.budgetPaused.push(p),
      paused: (p) => queue.pause(p),
      unpaused: (p) => queue.unpause(p),
      scheduleFlush: (p) => this.scheduleFlush(p),
      forget: (p) => this.forget(p),
      closing: (p) => this.closing.add(p),
      released: (p) => this.released(p),
    };
    this.tickMs =
      timerInterval('housekeepingInterval', options.housekeepingInterval) ??
      Math.max(
        10,
        Math.min(
          1000,
          config.txTimeout / 4,
          config.messageTimeout > 0 ? config.messageTimeout / 4 : 1000,
          this.idleTimeout > 0 ? this.idleTimeout / 4 : 1000,
          this.handshakeTimeout > 0 ? this.handshakeTimeout / 4 : 1000,
        ),
      );
    this.shrinkEvery = interval('shrinkInterval', options.shrinkInterval ?? 30_000);
    if (timers === undefined) {
      const interval = setInterval(() => this.tick(), this.tickMs);
      interval.unref?.();
      this.stopHousekeeping = () => clearInterval(interval);
    } else {
      let handle: unknown;
      let stopped = false;
      const again = () => {
        handle = timers.setTimeout(() => {
          this.tick();
          if (!stopped) again();
        }, this.tickMs);
      };
      again();
      this.stopHousekeeping = () => {
        stopped = true;
        timers.clearTimeout(handle);
      };
    }
  }

  // ------------------------------------------------------------------ commands

  /**
   * Binds every address (`host:port`; port 0 for a free port) and resolves with the bound
   * addresses, in order. If any fails (for example `EADDRINUSE`), the ones opened are closed and
   * the promise rejects with `ERR_LISTEN_FAILED` naming the address, the transport error as cause.
   */
  async listen(
    addresses: string | readonly string[],
    options: ListenOptions = {},
  ): Promise<string[]> {
    this.assertRunning();
    checkObject('options', options);
    const signal = checkSignal('options.signal', options.signal);
    if (signal?.aborted) throw abortedError('listen', signal);
    const list =
      typeof addresses === 'string'
        ? [addresses]
        : Array.isArray(addresses)
          ? [...addresses]
          : undefined;
    if (list === undefined || !list.every((a) => typeof a === 'string')) {
      throw invalidArgument('addresses', 'an address string or an array of them', addresses);
    }
    const opened: Listener[] = [];
    try {
      for (const address of list) {
        // Accept failures name the bound address (the real port, not `:0`) once it is known.
        let bound = address;
        const listener = await untilAborted(
          Promise.resolve(
            this.transport.listen(address, {
              onConnection: (conn) => this.accept(conn),
              onError: (error) => this.listenError(bound, error),
            }),
          ),
          signal,
          'listen',
          (late) => void late.close(),
        );
        bound = listener.address;
        opened.push(listener);
      }
    } catch (cause) {
      await Promise.allSettled(opened.map((l) => l.close()));
      if (PeerlinkError.isInstance(cause) && cause.code === ReactorErrorCodes.ABORTED) throw cause;
      const address = list[opened.length];
      if (PeerlinkError.isInstance(cause) && cause.code === ErrorCodes.INVALID_ARGUMENT)
        throw cause;
      throw new PeerlinkError(
        ReactorErrorCodes.LISTEN_FAILED,
        `cannot listen on ${address}: ${(cause as Error)?.message ?? String(cause)}`,
        { cause },
      );
    }
    if (this.stopping) {
      await Promise.allSettled(opened.map((l) => l.close()));
      throw shutdownError();
    }
    if (this.unrefd) for (const l of opened) l.unref?.();
    this.listeners.push(...opened);
    if (this.log.enabled)
      this.log.write('debug', { addresses: opened.map((l) => l.address) }, 'listening');
    return opened.map((l) => l.address);
  }

  /**
   * Lets the process exit while the reactor listens, as `net.Server.unref()` does: its listeners
   * (now and later ones) no longer keep the event loop alive. Open connections still do, as open
   * sockets do in Node; the reactor's own timers never do. Needs a transport whose listeners have
   * `unref` (TCP and TLS do; others are left as they are). Returns the reactor.
   */
  unref(): this {
    this.unrefd = true;
    for (const l of this.listeners) l.unref?.();
    return this;
  }

  /** Undoes {@link unref}: listening keeps the process alive again (the default). */
  ref(): this {
    this.unrefd = false;
    for (const l of this.listeners) l.ref?.();
    return this;
  }

  /** The bound addresses of every listener. */
  get listenAddresses(): string[] {
    return this.listeners.map((l) => l.address);
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
      promise = this.startConnect(target, signal, options.state);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.catch(noop);
    return promise;
  }

  private async startConnect(
    target: string,
    signal: AbortSignal | undefined,
    state: S | undefined,
  ): Promise<PeerId> {
    let conn: Connection;
    try {
      if (this.stopping) throw shutdownError();
      this.checkOutbound(target);
      conn = await this.connects.open(target, signal);
      if (this.stopping) {
        // Completed after shutdown began (shutdown aborts the connects it sees; this one got
        // through): it never becomes a peer.
        conn.close();
        throw shutdownError();
      }
      if (this.admission.isBanned(conn.remoteAddress, this.clock())) {
        conn.close(); // a name that resolved to a banned address
        throw bannedError(`${target} (${conn.remoteAddress})`);
      }
      if (this.upgrade !== undefined) {
        this.outboundUpgrading++;
        try {
          conn = await this.runUpgrade(conn, { direction: 'outbound', target }, signal);
        } finally {
          this.outboundUpgrading--;
        }
      }
    } catch (error) {
      if (this.log.enabled) {
        this.log.write('debug', { target, code: codeOf(error) }, 'connect failed');
      }
      this.queue.emit({ type: 'connect-failed', target, error: error as Error });
      throw error;
    }
    let peer: Peer<M>;
    try {
      peer = this.addPeer(conn, false, target);
      peer.slot = state;
    } catch (error) {
      conn.close();
      if (this.log.enabled) {
        this.log.write('debug', { target, code: codeOf(error as Error) }, 'connect failed');
      }
      this.queue.emit({ type: 'connect-failed', target, error: error as Error });
      throw error;
    }
    if (this.log.enabled) this.log.write('debug', { peer: peer.id, target }, 'connected');
    this.queue.emit({
      type: 'connected',
      peer: peer.id,
      target,
      remoteAddress: conn.remoteAddress,
      localAddress: conn.localAddress,
    });
    conn.start(peer);
    return peer.id;
  }

  /**
   * Queues `message` for `peer`. Returns `'queued'`; or `'full'` when the send buffer has no room
   * and the transport is blocked (a `send-buffer-full` event hands the message back; wait for
   * {@link drained}); or
   * `'no-such-peer'` (with a `no-such-peer` event) when the peer is unknown or disconnecting.
   * Throws `ERR_MESSAGE_TOO_LARGE` or `ERR_ENCODE_FAILURE` when the message cannot be encoded.
   */
  send(peer: PeerId, message: M): SendResult {
    let p = this.lastSent;
    if (p === undefined || p.id !== peer) {
      p = this.peers.get(peer);
      this.lastSent = p;
    }
    if (p === undefined || p.state !== 'open') {
      checkPeer(peer);
      this.queue.emit({ type: 'no-such-peer', peer });
      return 'no-such-peer';
    }
    return p.send(message);
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
    const p = this.peers.get(peer);
    if (p === undefined) checkPeer(peer);
    return p !== undefined && p.state === 'open' && p.canSend(size);
  }

  /**
   * Bytes queued for `peer` and not yet handed to the transport, or `undefined` for an unknown or
   * disconnecting peer. Cheap (no snapshot); `peerStats(peer)` has the rest.
   */
  queuedBytes(peer: PeerId): number | undefined {
    const p = this.peers.get(peer);
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
    const p = this.peers.get(peer);
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
    const p = this.peers.get(peer);
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
    const p = this.peers.get(peer);
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
    return this.peers.get(peer)?.slot as S | undefined;
  }

  /** Sets `peer`'s state; returns whether the peer is connected (else nothing is set). */
  setState(peer: PeerId, state: S): boolean {
    const p = this.peers.get(peer);
    if (p === undefined || p.state !== 'open') return false;
    p.slot = state;
    return true;
  }

  /**
   * Marks `peer` ready: its handshake is done, and `handshakeTimeout` no longer applies to it.
   * Returns whether the peer is connected. Idempotent.
   */
  ready(peer: PeerId): boolean {
    const p = this.peers.get(peer);
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
    for (const p of [...this.peers.values()]) {
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
    return [...this.peers.keys()];
  }

  /** Number of connected peers. */
  get peerCount(): number {
    return this.peers.size;
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
      this.stopping = true;
      this.shutdownPromise = this.runShutdown(flushTimeout);
    }
    return this.shutdownPromise;
  }

  private async runShutdown(flushTimeout: number): Promise<void> {
    if (this.log.enabled) this.log.write('debug', { peers: this.peers.size }, 'shutting down');
    const listeners = this.listeners.splice(0);
    this.connects.abortAll(shutdownError());
    for (const upgrade of this.upgrades) upgrade.abort(shutdownError());
    for (const p of [...this.peers.values()]) p.disconnect({ kind: 'requested' });
    await Promise.allSettled(listeners.map((l) => l.close()));
    if (this.closing.size > 0) {
      const allClosed = new Promise<void>((resolve) => {
        this.closedAll = resolve;
      });
      // `options.signal` cuts the flush short: what is left is closed at once.
      const signal = this.shutdownSignal;
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<void>((resolve) => {
        onAbort = () => resolve();
        if (signal?.aborted) resolve();
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (flushTimeout === Number.POSITIVE_INFINITY) {
        // Housekeeping still resets a peer whose data stops leaving (txTimeout).
        await Promise.race([allClosed, aborted]);
      } else {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, flushTimeout);
        });
        await Promise.race([allClosed, timedOut, aborted]);
        clearTimeout(timer);
      }
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      this.closedAll = undefined;
      // Out of time: close the rest at once, and forget them without waiting for the transport.
      for (const p of [...this.closing]) p.closeNow();
    }
    this.stopHousekeeping();
    // Wake an iterator waiting on an empty queue: it ends now.
    this.queue.wake();
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

  // ------------------------------------------------------------------ the peer registry

  private accept(conn: Connection): void {
    let reason: RefusalReason | undefined;
    if (this.stopping) reason = 'shutdown';
    else reason = this.admission.admit(conn.remoteAddress, this.clock());
    if (reason === undefined && this.acceptGate !== undefined) {
      let ok = false;
      try {
        ok = this.acceptGate(conn.remoteAddress, conn.localAddress);
      } catch {
        ok = false;
      }
      if (!ok) reason = 'gate';
    }
    if (reason === undefined && this.inboundCount >= this.maxInbound && !this.evictOne()) {
      reason = 'limit';
    }
    if (reason !== undefined) {
      this.refuse(conn, reason);
      return;
    }
    if (this.upgrade !== undefined) {
      // The upgrade counts against `maxInbound` while it runs: handshakes cannot pile up.
      this.inboundCount++;
      this.runUpgrade(conn, { direction: 'inbound' }, undefined).then(
        (upgraded) => {
          this.inboundCount--;
          if (this.stopping) upgraded.close();
          else this.admit(upgraded);
        },
        (error: Error) => {
          this.inboundCount--;
          this.listenError(conn.localAddress, error);
        },
      );
      return;
    }
    this.admit(conn);
  }

  /** Makes an accepted (and upgraded) connection a peer. */
  private admit(conn: Connection): void {
    let peer: Peer<M>;
    try {
      peer = this.addPeer(conn, true);
    } catch (error) {
      this.refuse(conn, 'codec', codeOf(error as Error));
      return;
    }
    if (this.acceptState !== undefined) {
      try {
        peer.slot = this.acceptState({
          peer: peer.id,
          remoteAddress: conn.remoteAddress,
          localAddress: conn.localAddress,
        });
      } catch (error) {
        // The application's bug: the peer starts without state; the error surfaces as an
        // uncaught exception, as a throwing event listener's does.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (this.log.enabled)
      this.log.write('debug', { peer: peer.id, remote: conn.remoteAddress }, 'accepted');
    this.queue.emit({
      type: 'accepted',
      peer: peer.id,
      remoteAddress: conn.remoteAddress,
      localAddress: conn.localAddress,
    });
    conn.start(peer);
  }

  /**
   * Refuses an inbound connection: counted in `stats().refused`, logged, and reset, so that the
   * dialer's connection ends with `ECONNRESET` rather than a clean end.
   */
  private refuse(conn: Connection, reason: RefusalReason, code?: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    if (this.log.enabled) {
      this.log.write(
        'debug',
        { remote: conn.remoteAddress, ...(code === undefined ? {} : { code }) },
        `inbound connection refused: ${reason}`,
      );
    }
    conn.reset();
  }

  /** The inbound table is full: evicts one inbound peer if the policy finds one. */
  private evictOne(): boolean {
    if (this.admission.evict === undefined) return false;
    const candidates: EvictionCandidate[] = [];
    for (const p of this.peers.values()) {
      if (!p.inbound || p.state !== 'open') continue;
      candidates.push({
        id: p.id,
        remoteAddress: p.conn.remoteAddress,
        connectedAt: p.connectedAt,
        lastReceivedAt: p.lastReceivedAt,
      });
    }
    const victim = this.admission.pickEviction(candidates);
    const p = victim === undefined ? undefined : this.peers.get(victim);
    if (p === undefined) return false;
    if (this.log.enabled) this.log.write('debug', { peer: p.id }, 'evicted');
    p.kick({ kind: 'evicted' });
    return true;
  }

  /** Refuses an outbound connect over `maxOutbound` or to a banned address. */
  private checkOutbound(target: string): void {
    if (this.outboundCount + this.connects.size + this.outboundUpgrading >= this.maxOutbound) {
      throw new PeerlinkError(
        ReactorErrorCodes.OUTBOUND_LIMIT,
        `connect to ${target}: ${this.maxOutbound} outbound connections already (maxOutbound)`,
      );
    }
    if (this.admission.isBanned(target, this.clock())) throw bannedError(target);
  }

  /** Runs the connection upgrade on `conn`; shutdown (and `signal`) abort it. */
  private async runUpgrade(
    conn: Connection,
    info: UpgradeInfo,
    signal: AbortSignal | undefined,
  ): Promise<Connection> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.upgrades.add(controller);
    try {
      return await runUpgrade(conn, this.upgrade!, info, this.upgradeTimeout, controller.signal);
    } finally {
      this.upgrades.delete(controller);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private listenError(address: string, error: Error): void {
    if (this.log.enabled) this.log.write('warn', { address, code: codeOf(error) }, 'accept failed');
    this.queue.emit({ type: 'listen-error', address, error });
  }

  /** Makes `conn` a peer. Throws `ERR_CODEC_FAILURE` when the codec factory fails for it. */
  private addPeer(conn: Connection, inbound: boolean, target?: string): Peer<M> {
    const id = nextPeerId++;
    const factory = this.factory;
    const codec =
      factory === undefined
        ? undefined
        : createCodec(factory, {
            peer: id,
            direction: inbound ? 'inbound' : 'outbound',
            remoteAddress: conn.remoteAddress,
            localAddress: conn.localAddress,
            ...(target === undefined ? {} : { target }),
          });
    const peer = new Peer(this.host, id, conn, inbound, codec);
    if (inbound) {
      this.inboundCount++;
      this.admission.added(id, conn.remoteAddress);
    } else {
      this.outboundCount++;
    }
    this.peers.set(peer.id, peer);
    return peer;
  }

  /** `p` was reported `disconnected`: it is no longer a peer; its counters go to the totals. */
  private forget(p: Peer<M>): void {
    this.peers.delete(p.id);
    if (p.inbound) this.admission.removed(p.id);
    else this.outboundCount--;
    if (this.lastSent === p) this.lastSent = undefined;
    const d = this.departed;
    d.bytesIn += p.bytesIn;
    d.bytesOut += p.bytesOut;
    d.messagesIn += p.messagesIn;
    d.messagesOut += p.messagesOut;
    if (p.inbound) this.inboundCount--;
  }

  /** `p`'s connection is gone for good. */
  private released(p: Peer<M>): void {
    this.closing.delete(p);
    if (this.closing.size === 0 && this.closedAll !== undefined) this.closedAll();
    this.queue.wake();
  }

  // ------------------------------------------------------------------ flushing

  /** Flushes `p` at the end of this turn, with every other peer sent to in it. */
  private scheduleFlush(p: Peer<M>): void {
    this.dirtyPeers.push(p);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushAll);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const list = this.dirtyPeers;
    this.dirtyPeers = [];
    for (let i = 0; i < list.length; i++) list[i]!.flushScheduled();
  }

  // ------------------------------------------------------------------ stats

  /**
   * A snapshot of the reactor and, unless `options.peers` is `false`, of every peer. Pull-based:
   * nothing is counted beyond a few integers per peer until you call it. About 0.25 µs per peer
   * (2.4 ms for 10,000 peers on a 2-core machine; see `bench/stats`).
   */
  stats(options: { peers?: boolean } = {}): ReactorStats {
    checkObject('options', options);
    const now = this.clock();
    const peers: PeerStats[] = [];
    const d = this.departed;
    let bytesIn = d.bytesIn;
    let bytesOut = d.bytesOut;
    let messagesIn = d.messagesIn;
    let messagesOut = d.messagesOut;
    const withPeers = options.peers !== false;
    for (const p of this.peers.values()) {
      bytesIn += p.bytesIn;
      bytesOut += p.bytesOut;
      messagesIn += p.messagesIn;
      messagesOut += p.messagesOut;
      if (withPeers) peers.push(p.describe(now));
    }
    return {
      peers: this.peers.size,
      closing: this.closing.size,
      listeners: this.listeners.length,
      pendingConnects: this.connects.size,
      pausedPeers: this.queue.pausedCount,
      queuedEvents: this.queue.size,
      eventCapacity: this.queue.capacity,
      totals: { bytesIn, bytesOut, messagesIn, messagesOut },
      disconnects: { ...this.disconnects },
      refused: { ...this.refused },
      outbound: this.outboundCount,
      bans: this.admission.bans(now).length,
      peerStats: peers,
    };
  }

  /** A snapshot of one peer, or `undefined` when it is not connected. */
  peerStats(peer: PeerId): PeerStats<S> | undefined {
    const p = this.peers.get(peer);
    if (p === undefined) checkPeer(peer);
    return p?.describe(this.clock()) as PeerStats<S> | undefined;
  }

  // ------------------------------------------------------------------ housekeeping

  private tick(): void {
    const now = this.clock();
    for (const p of this.peers.values()) p.checkStale(now);
    const idle = this.idleTimeout;
    if (idle > 0) for (const p of this.peers.values()) p.checkIdle(now, idle);
    const handshake = this.handshakeTimeout;
    if (handshake > 0) for (const p of this.peers.values()) p.checkHandshake(now, handshake);
    for (const p of this.closing) p.checkClosing(now);
    this.sinceShrink += this.tickMs;
    if (this.sinceShrink >= this.shrinkEvery) {
      this.sinceShrink = 0;
      for (const p of this.peers.values()) p.shrink();
    }
  }

  /**
   * The time, read at most once per turn of the event loop: every message queued in one turn
   * shares one queue point, and the hot paths do not pay for a clock read per message.
   */
  private turnClock(): number {
    if (!this.turnNowValid) {
      this.turnNow = this.clock();
      this.turnNowValid = true;
      queueMicrotask(this.expireTurnNow);
    }
    return this.turnNow;
  }

  private assertRunning(): void {
    if (this.stopping) throw shutdownError();
  }
}
