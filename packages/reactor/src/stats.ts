import type { PeerStats, ReactorStats } from './events.js';
import type { Inbound } from './inbound.js';
import type { Outbound } from './outbound.js';
import type { Registry } from './registry.js';

/**
 * The snapshot `Reactor.stats()` returns: the reactor's counts and totals (peers gone included)
 * and, with `withPeers`, every peer's own snapshot. Internal.
 */
export function snapshot<M, S>(
  registry: Registry<M>,
  inbound: Inbound<M, S>,
  outbound: Outbound<M, S>,
  withPeers: boolean,
): ReactorStats {
  const queue = registry.queue;
  const now = registry.clock();
  const peers: PeerStats[] = [];
  const d = registry.departed;
  let bytesIn = d.bytesIn;
  let bytesOut = d.bytesOut;
  let messagesIn = d.messagesIn;
  let messagesOut = d.messagesOut;
  for (const p of registry.peers.values()) {
    bytesIn += p.bytesIn;
    bytesOut += p.bytesOut;
    messagesIn += p.messagesIn;
    messagesOut += p.messagesOut;
    if (withPeers) peers.push(p.describe(now));
  }
  return {
    peers: registry.peers.size,
    closing: registry.closing.size,
    listeners: inbound.count,
    pendingConnects: outbound.connects.size,
    pausedPeers: queue.pausedCount,
    queuedEvents: queue.size,
    eventCapacity: queue.capacity,
    totals: { bytesIn, bytesOut, messagesIn, messagesOut },
    disconnects: { ...registry.disconnects },
    refused: { ...inbound.refused },
    outbound: registry.outboundCount,
    bans: registry.admission.bans(now).length,
    peerStats: peers,
  };
}
