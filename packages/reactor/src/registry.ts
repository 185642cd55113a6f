import type { Connection } from '@peerlink/stream';
import type { Admission } from './admission.js';
import { type CodecFactory, createCodec } from './codec-factory.js';
import type { EventQueue } from './event-queue.js';
import type { DisconnectReason, PeerId } from './events.js';
import type { Log } from './log.js';
import { Peer } from './peer.js';
import type { PeerHost, Totals } from './peer-host.js';
import type { PeerLifecycle } from './peer-lifecycle.js';

let nextPeerId = 1;

/**
 * The reactor's peers and what its parts share about them: the id → peer map, the peers still
 * flushing before they close, the inbound and outbound counts, the counters of peers already gone,
 * and whether the reactor is shutting down. Makes a peer of a connection, forgets it once it is
 * reported `disconnected`, and releases it once its connection is gone. Internal.
 */
export class Registry<M> {
  readonly peers = new Map<PeerId, Peer<M>>();
  /** The peer `send` found last: a run of sends to one peer skips the map lookup. */
  lastSent: Peer<M> | undefined;

  /**
   * The peer `peer` if it is `open` (it can be sent to), else `undefined`; a run of sends to one
   * peer skips the map lookup.
   */
  openPeer(peer: PeerId): Peer<M> | undefined {
    let p = this.lastSent;
    if (p === undefined || p.id !== peer) {
      p = this.peers.get(peer);
      this.lastSent = p;
    }
    return p !== undefined && p.state === 'open' ? p : undefined;
  }
  /** Peers whose disconnect was requested and whose queue is still being flushed. */
  readonly closing = new Set<PeerLifecycle<M>>();
  inboundCount = 0;
  /** Outbound peers connected now (pending connects are in `Connects`). */
  outboundCount = 0;
  /** Counters of peers already gone, so that `stats().totals` covers the reactor's whole life. */
  readonly departed: Totals = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  /** Disconnects so far, by reason kind. */
  readonly disconnects: { [K in DisconnectReason['kind']]?: number } = {};
  /** Set when `shutdown()` is called: from then on every new command fails with `ERR_SHUTDOWN`. */
  stopping = false;
  /** Called once no peer is closing any more, while shutdown waits for that. */
  closedAll: (() => void) | undefined;

  /** What every peer reaches the reactor through. */
  private readonly host: PeerHost<M>;

  /**
   * @param makeHost Makes what every peer reaches the reactor through (given this registry).
   * @param factory Makes each peer's codec, when the reactor was given a factory.
   */
  constructor(
    makeHost: (registry: Registry<M>) => PeerHost<M>,
    private readonly factory: CodecFactory<M> | undefined,
    readonly admission: Admission,
    readonly queue: EventQueue<M>,
    readonly log: Log,
    readonly clock: () => number,
  ) {
    this.host = makeHost(this);
  }

  /** Makes `conn` a peer. Throws `ERR_CODEC_FAILURE` when the codec factory fails for it. */
  addPeer(conn: Connection, inbound: boolean, target?: string): Peer<M> {
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
  forget(p: PeerLifecycle<M>): void {
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
  released(p: PeerLifecycle<M>): void {
    this.closing.delete(p);
    if (this.closing.size === 0 && this.closedAll !== undefined) this.closedAll();
    this.queue.wake();
  }
}
