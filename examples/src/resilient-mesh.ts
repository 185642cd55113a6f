/**
 * The gossip mesh, made to survive a hostile network, on the simulated network and simulated
 * time (a minute of it runs in well under a second):
 *
 * - every node keeps its ring link up with `keep()` (exponential backoff with jitter);
 * - every node sends a beacon to each peer every second and sets `idleTimeout: 3000`, so a link
 *   that goes silent (a black hole on the way) is dropped within about three seconds, and `keep()`
 *   reconnects once the path heals;
 * - a node bans, for ten minutes, the address of any peer that breaks the gossip codec; `mallory`
 *   tries, is banned, and its reconnects are refused;
 * - a peer's first beacon is its handshake: each node keeps a per-peer state (`Reactor<M, S>`,
 *   beacons counted) and marks the peer `ready()` then; `handshakeTimeout: 5000` drops a peer
 *   that never sends one; `maxInboundPerAddress: 2` bounds what one address may open;
 * - every node's `stats()` tells what happened (disconnects and refusals by reason).
 */

import {
  type KeepEvent,
  keep,
  lengthPrefixed,
  MemoryNetwork,
  type PeerId,
  Reactor,
  type ReactorStats,
} from 'peerlink';
import { VirtualScheduler } from 'peerlink/testing';
import { type Gossip, gossipCodec } from './gossip.js';

/** The id of a beacon: not gossip, only proof of life. */
const BEACON = 0;

/** One line of what happened, on simulated time. */
export interface ResilienceLogEntry {
  /** Simulated time, in ms. */
  readonly at: number;
  readonly node: string;
  readonly what: string;
}

/** What each node keeps per peer. */
export interface PeerRecord {
  /** Beacons received from the peer. */
  beacons: number;
}

/** What {@link runResilientMesh} reports. */
export interface ResilienceResult {
  readonly log: readonly ResilienceLogEntry[];
  /** Each node's `stats()` at the end, by name. */
  readonly stats: Readonly<Record<string, ReactorStats>>;
  /** Each node's connected peers at the end, by name. */
  readonly peers: Readonly<Record<string, number>>;
  /** Each node's peers at the end as `peerStats` (ready flag and beacon count), by name. */
  readonly handshakes: Readonly<Record<string, ReadonlyArray<{ ready: boolean; beacons: number }>>>;
}

/** Options of {@link runResilientMesh}. */
export interface ResilienceOptions {
  /** Nodes in the ring (at least 3). Default 4. */
  nodes?: number;
  /** The network seed. Default 1. */
  seed?: number;
  /** When the black hole after node 2 heals, in simulated ms. Default 20000. */
  healAt?: number;
  /** How long the whole run lasts, in simulated ms. Default 60000. */
  duration?: number;
}

/**
 * Runs the scenario: a ring of `nodes` nodes (`n0`, `n1`, …), each keeping a link to the next;
 * everything `n2` sends is swallowed after its first 200 bytes until `healAt`; `mallory` connects
 * to `n0` and sends a frame the gossip codec rejects.
 */
export async function runResilientMesh(options: ResilienceOptions = {}): Promise<ResilienceResult> {
  const count = options.nodes ?? 4;
  const healAt = options.healAt ?? 20_000;
  const duration = options.duration ?? 60_000;
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({ seed: options.seed ?? 1, scheduler });
  // A black hole after n2: its connections deliver 200 bytes, then nothing (not even an end).
  network.link({ from: 'n2' }, { faults: [{ kind: 'stall', afterBytes: 200 }] });
  const log: ResilienceLogEntry[] = [];
  const note = (node: string, what: string) => log.push({ at: scheduler.now(), node, what });

  const names = Array.from({ length: count }, (_, i) => `n${i}`);
  const reactors = new Map<string, Reactor<Gossip, PeerRecord>>();
  const stops: Array<() => unknown> = [];
  try {
    for (const name of names) {
      const reactor = new Reactor<Gossip, PeerRecord>({
        codec: gossipCodec,
        transport: network.transport(name),
        timers: scheduler,
        idleTimeout: 3000,
        handshakeTimeout: 5000,
        maxInboundPerAddress: 2,
        acceptState: () => ({ beacons: 0 }),
      });
      reactors.set(name, reactor);
      stops.push(() => reactor.shutdown({ flushTimeout: 0 }));
      const remotes = new Map<PeerId, string>();
      reactor.onEvent((event) => {
        switch (event.type) {
          case 'connected':
            reactor.setState(event.peer, { beacons: 0 });
            break;
          case 'message': {
            if (event.message.id !== BEACON) break;
            const record = reactor.state(event.peer);
            if (record === undefined) break;
            // The first beacon is the handshake: the peer speaks our protocol.
            if (record.beacons++ === 0) reactor.ready(event.peer);
            break;
          }
          case 'accepted':
            remotes.set(event.peer, event.remoteAddress);
            break;
          case 'disconnected': {
            note(name, `peer ${event.peer} disconnected: ${event.reason.kind}`);
            const remote = remotes.get(event.peer);
            remotes.delete(event.peer);
            // A peer that breaks the protocol is banned (its host: on the memory network, the
            // node's name; on TCP, its IP address) for ten minutes.
            if (event.reason.kind === 'codec-violation' && remote !== undefined) {
              const host = remote.slice(0, remote.lastIndexOf(':'));
              reactor.ban(host, 600_000);
              note(name, `banned ${host}`);
            }
            break;
          }
        }
      });
      await reactor.listen(`${name}:1`);
    }

    // The beacons: every second, to every peer (any bytes keep a link alive).
    const beat = () => {
      for (const reactor of reactors.values()) {
        for (const peer of reactor.peerIds) {
          reactor.send(peer, { id: BEACON, origin: 0, hops: 0, payload: new Uint8Array(0) });
        }
      }
      stops.push(
        (
          (h) => () =>
            scheduler.clearTimeout(h)
        )(scheduler.setTimeout(beat, 1000)),
      );
    };
    beat();

    // The ring, each link kept by its dialer.
    names.forEach((name, i) => {
      const next = names[(i + 1) % count]!;
      const kept = keep(reactors.get(name)!, `${next}:1`, {
        backoff: { initial: 500, max: 4000 },
        stableAfter: 5000,
        timers: scheduler,
        random: () => 0.5,
        onEvent: (e: KeepEvent) => {
          if (e.type === 'connected')
            note(name, `keep: connected to ${next} (attempt ${e.attempt})`);
          if (e.type === 'retry') note(name, `keep: retry ${next} in ${e.delay} ms`);
        },
      });
      stops.push(() => kept.unkeep());
    });

    // Mallory speaks another protocol: a 3-byte frame, too short for a gossip message.
    const mallory = new Reactor({
      codec: lengthPrefixed({ maxSize: 1024 }),
      transport: network.transport('mallory'),
      timers: scheduler,
    });
    stops.push(() => mallory.shutdown({ flushTimeout: 0 }));
    const malloryKeep = keep(mallory, 'n0:1', {
      backoff: { initial: 1000, attempts: 4, jitter: 0 },
      timers: scheduler,
      onEvent: (e) => {
        if (e.type === 'connected') {
          note('mallory', 'connected to n0');
          mallory.send(e.peer, Uint8Array.of(1, 2, 3));
        }
        if (e.type === 'disconnected') note('mallory', `disconnected: ${e.reason.kind}`);
        if (e.type === 'gave-up') note('mallory', 'gave up');
      },
    });
    stops.push(() => malloryKeep.unkeep());

    const at = (ms: number) => new Promise<void>((r) => scheduler.setTimeout(r, ms));
    await at(healAt);
    network.link({ from: 'n2' }, { faults: [] }); // the path heals (for new connections)
    note('network', 'n2 healed');
    await at(duration - healAt);

    const stats: Record<string, ReactorStats> = {};
    const peers: Record<string, number> = {};
    const handshakes: Record<string, Array<{ ready: boolean; beacons: number }>> = {};
    for (const [name, reactor] of reactors) {
      stats[name] = reactor.stats({ peers: false });
      peers[name] = reactor.peerCount;
      handshakes[name] = reactor.peerIds.map((peer) => {
        const s = reactor.peerStats(peer)!;
        return { ready: s.ready, beacons: s.state?.beacons ?? 0 };
      });
    }
    return { log, stats, peers, handshakes };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
