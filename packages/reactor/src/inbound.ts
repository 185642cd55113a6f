import {
  type Connection,
  codeOf,
  ErrorCodes,
  invalidArgument,
  type Listener,
  PeerlinkError,
  type Transport,
} from '@peerlink/stream';
import { abortedError, checkSignal, untilAborted } from './abort.js';
import type { Admission, EvictionCandidate, RefusalReason } from './admission.js';
import { checkObject } from './args.js';
import { ReactorErrorCodes } from './errors.js';
import type { EventQueue } from './event-queue.js';
import type { Log } from './log.js';
import type { ListenOptions, ReactorOptions } from './options.js';
import type { Peer } from './peer.js';
import type { Registry } from './registry.js';
import type { Upgrades } from './upgrade.js';
import { shutdownError } from './util.js';

/**
 * The reactor's inbound side: its listeners, and what happens to each connection they accept:
 * refused (shutdown, a ban or rate limit, the accept gate, `maxInbound` with nobody to evict;
 * counted, logged and reset), upgraded, then made a peer and reported `accepted`. Internal.
 */
export class Inbound<M, S> {
  private readonly listeners: Listener[] = [];
  /** `unref()` was called: listeners do not keep the process alive. */
  private unrefd = false;
  private readonly maxInbound: number;
  private readonly acceptGate: ((remote: string, local: string) => boolean) | undefined;
  private readonly acceptState: ReactorOptions<M, S>['acceptState'];
  /** Inbound connections refused so far, by reason. */
  readonly refused: { [K in RefusalReason]?: number } = {};
  private readonly admission: Admission;
  private readonly queue: EventQueue<M>;
  private readonly log: Log;
  private readonly clock: () => number;

  /**
   * @param maxInbound See `ReactorOptions.maxInbound` (checked).
   * @param upgrades The connection upgrade, if the reactor has one.
   */
  constructor(
    options: ReactorOptions<M, S>,
    maxInbound: number,
    private readonly transport: Transport,
    private readonly registry: Registry<M>,
    private readonly upgrades: Upgrades | undefined,
  ) {
    this.maxInbound = maxInbound;
    this.acceptGate = options.acceptGate;
    this.acceptState = options.acceptState;
    this.admission = registry.admission;
    this.queue = registry.queue;
    this.log = registry.log;
    this.clock = registry.clock;
  }

  /** See `Reactor.listen`. */
  async listen(
    addresses: string | readonly string[],
    options: ListenOptions = {},
  ): Promise<string[]> {
    if (this.registry.stopping) throw shutdownError();
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
    if (this.registry.stopping) {
      await Promise.allSettled(opened.map((l) => l.close()));
      throw shutdownError();
    }
    if (this.unrefd) for (const l of opened) l.unref?.();
    this.listeners.push(...opened);
    if (this.log.enabled)
      this.log.write('debug', { addresses: opened.map((l) => l.address) }, 'listening');
    return opened.map((l) => l.address);
  }

  /** See `Reactor.unref`. */
  unref(): void {
    this.unrefd = true;
    for (const l of this.listeners) l.unref?.();
  }

  /** See `Reactor.ref`. */
  ref(): void {
    this.unrefd = false;
    for (const l of this.listeners) l.ref?.();
  }

  /** The bound addresses of every listener. */
  get addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  /** How many listeners there are. */
  get count(): number {
    return this.listeners.length;
  }

  /** Takes every listener away (shutdown closes them). */
  takeAll(): Listener[] {
    return this.listeners.splice(0);
  }

  /** A listener's new connection: refused, upgraded, or made a peer. */
  private accept(conn: Connection): void {
    let reason: RefusalReason | undefined;
    if (this.registry.stopping) reason = 'shutdown';
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
    if (reason === undefined && this.registry.inboundCount >= this.maxInbound && !this.evictOne()) {
      reason = 'limit';
    }
    if (reason !== undefined) {
      this.refuse(conn, reason);
      return;
    }
    if (this.upgrades !== undefined) {
      // The upgrade counts against `maxInbound` while it runs: handshakes cannot pile up.
      this.registry.inboundCount++;
      this.upgrades.run(conn, { direction: 'inbound' }, undefined).then(
        (upgraded) => {
          this.registry.inboundCount--;
          if (this.registry.stopping) upgraded.close();
          else this.admit(upgraded);
        },
        (error: Error) => {
          this.registry.inboundCount--;
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
      peer = this.registry.addPeer(conn, true);
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
    for (const p of this.registry.peers.values()) {
      if (!p.inbound || p.state !== 'open') continue;
      candidates.push({
        id: p.id,
        remoteAddress: p.conn.remoteAddress,
        connectedAt: p.connectedAt,
        lastReceivedAt: p.lastReceivedAt,
      });
    }
    const victim = this.admission.pickEviction(candidates);
    const p = victim === undefined ? undefined : this.registry.peers.get(victim);
    if (p === undefined) return false;
    if (this.log.enabled) this.log.write('debug', { peer: p.id }, 'evicted');
    p.kick({ kind: 'evicted' });
    return true;
  }

  private listenError(address: string, error: Error): void {
    if (this.log.enabled) this.log.write('warn', { address, code: codeOf(error) }, 'accept failed');
    this.queue.emit({ type: 'listen-error', address, error });
  }
}
