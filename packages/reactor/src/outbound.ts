import { type Connection, codeOf, PeerlinkError } from '@peerlink/stream';
import type { Admission } from './admission.js';
import type { Connects } from './connects.js';
import { ReactorErrorCodes } from './errors.js';
import type { EventQueue } from './event-queue.js';
import type { PeerId } from './events.js';
import type { Log } from './log.js';
import type { Peer } from './peer.js';
import type { Registry } from './registry.js';
import type { Upgrades } from './upgrade.js';
import { bannedError, shutdownError } from './util.js';

/**
 * The reactor's outbound side: a `connect` checked against `maxOutbound` and the bans, opened
 * (with its timeout and abort), upgraded, then made a peer and reported `connected`, or reported
 * `connect-failed`. Internal.
 */
export class Outbound<M, S> {
  /** Outbound connections still upgrading: they count against `maxOutbound`. */
  private outboundUpgrading = 0;
  private readonly admission: Admission;
  private readonly queue: EventQueue<M>;
  private readonly log: Log;
  private readonly clock: () => number;

  /**
   * @param connects The connects in flight.
   * @param upgrades The connection upgrade, if the reactor has one.
   * @param maxOutbound See `ReactorOptions.maxOutbound` (checked).
   */
  constructor(
    private readonly registry: Registry<M>,
    readonly connects: Connects,
    private readonly upgrades: Upgrades | undefined,
    private readonly maxOutbound: number,
  ) {
    this.admission = registry.admission;
    this.queue = registry.queue;
    this.log = registry.log;
    this.clock = registry.clock;
  }

  /** See `Reactor.connect` (its arguments checked). */
  async start(
    target: string,
    signal: AbortSignal | undefined,
    state: S | undefined,
  ): Promise<PeerId> {
    let conn: Connection;
    try {
      if (this.registry.stopping) throw shutdownError();
      this.check(target);
      conn = await this.connects.open(target, signal);
      if (this.registry.stopping) {
        // Completed after shutdown began (shutdown aborts the connects it sees; this one got
        // through): it never becomes a peer.
        conn.close();
        throw shutdownError();
      }
      if (this.admission.isBanned(conn.remoteAddress, this.clock())) {
        conn.close(); // a name that resolved to a banned address
        throw bannedError(`${target} (${conn.remoteAddress})`);
      }
      if (this.upgrades !== undefined) {
        this.outboundUpgrading++;
        try {
          conn = await this.upgrades.run(conn, { direction: 'outbound', target }, signal);
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
      peer = this.registry.addPeer(conn, false, target);
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

  /** Refuses an outbound connect over `maxOutbound` or to a banned address. */
  private check(target: string): void {
    if (
      this.registry.outboundCount + this.connects.size + this.outboundUpgrading >=
      this.maxOutbound
    ) {
      throw new PeerlinkError(
        ReactorErrorCodes.OUTBOUND_LIMIT,
        `connect to ${target}: ${this.maxOutbound} outbound connections already (maxOutbound)`,
      );
    }
    if (this.admission.isBanned(target, this.clock())) throw bannedError(target);
  }
}
