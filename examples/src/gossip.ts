/**
 * A gossip mesh on loopback: N nodes, each a peerlink reactor listening on 127.0.0.1, connect to
 * each other; a message started by one node is forwarded by every node that has not seen it
 * before, to all its peers but the one it came from, until every node has it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type PeerId, type Reactor, run } from 'peerlink';
import { type Gossip, gossipCodecFor } from './gossip-codec.js';
import { type LiveSample, RateSampler } from './live.js';

export type { Gossip } from './gossip-codec.js';

/** Largest payload the mesh's gossip codec accepts, in bytes. */
export const MAX_PAYLOAD = 64 * 1024;

/** The mesh's codec (see `gossip-codec.ts` for the frames). */
export const gossipCodec = gossipCodecFor(MAX_PAYLOAD);

/** Options of {@link runMesh}. */
export interface MeshOptions {
  /** Number of nodes (2–65535). */
  nodes: number;
  /**
   * Outbound links per node: node i connects to the nodes 1, 2, 4, 8, … places after it (mod N),
   * which keeps the mesh connected with few hops. Default 3.
   */
  links?: number;
  /** Messages to gossip, one after another, each started by the next node in turn. Default 5. */
  messages?: number;
  /** Payload size of each message, in bytes. Default 32. */
  payloadSize?: number;
  /** Called once per message when every node has it. */
  onMessage?: (result: MeshMessageResult) => void;
  /** Pause between one message reaching every node and the next one starting, in ms. Default 0. */
  interval?: number;
  /**
   * Called with a live view of every node, built from its reactor's `stats()`: once when the
   * mesh is linked, every {@link statsInterval} ms while it gossips, and once after the last
   * message, before the nodes shut down.
   */
  onStats?: (sample: MeshStatsSample) => void;
  /** How often {@link onStats} is called while gossiping, in ms. Default 250. */
  statsInterval?: number;
}

/** A live view of the mesh: one {@link LiveSample} per node, from its reactor's `stats()`. */
export interface MeshStatsSample {
  /** `linked` once every link is up, `gossip` while messages spread, `done` after the last. */
  readonly phase: 'linked' | 'gossip' | 'done';
  /** Since the mesh was linked, in milliseconds. */
  readonly elapsedMs: number;
  /** Index i is node i; rates are since the previous sample. */
  readonly nodes: readonly LiveSample[];
}

/** How one message spread. */
export interface MeshMessageResult {
  readonly id: number;
  readonly origin: number;
  /** From the origin sending it to the last node receiving it, in milliseconds. */
  readonly millis: number;
  /** Most hops any node's first copy took. */
  readonly maxHops: number;
  /** Copies sent in all (first copies and duplicates). */
  readonly copies: number;
  /** Copies that arrived at a node that already had the message, and were dropped. */
  readonly duplicates: number;
}

/** What {@link runMesh} reports. */
export interface MeshResult {
  /** The links between nodes, as pairs of node indexes. */
  readonly links: ReadonlyArray<readonly [number, number]>;
  readonly messages: readonly MeshMessageResult[];
}

interface Node {
  readonly index: number;
  readonly reactor: Reactor<Gossip>;
  readonly peers: Set<PeerId>;
  readonly seen: Set<number>;
}

/** The links of the mesh: i → i + 2^k (mod n) for k < links, without duplicates or self-links. */
export function meshLinks(nodes: number, links: number): Array<[number, number]> {
  const edges = new Map<string, [number, number]>();
  for (let i = 0; i < nodes; i++) {
    for (let k = 0, distance = 1; k < links && distance < nodes; k++, distance *= 2) {
      const j = (i + distance) % nodes;
      const key = i < j ? `${i}-${j}` : `${j}-${i}`;
      if (!edges.has(key)) edges.set(key, [i, j]);
    }
  }
  return [...edges.values()];
}

/**
 * Starts the mesh, gossips `messages` messages one after another, and shuts every node down.
 * Each message's result is reported once every node has received it.
 */
export async function runMesh(options: MeshOptions): Promise<MeshResult> {
  const count = options.nodes;
  if (!Number.isInteger(count) || count < 2 || count > 0xffff) {
    throw new RangeError(`nodes must be an integer from 2 to 65535, got ${count}`);
  }
  const payload = new Uint8Array(options.payloadSize ?? 32).fill(0x2a);
  const nodes: Node[] = [];
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    for (let index = 0; index < count; index++) {
      const reactor = await run({
        codec: gossipCodec,
        listen: '127.0.0.1:0',
        name: `node${index}`,
      });
      nodes.push({ index, reactor, peers: new Set(), seen: new Set() });
    }

    // Per message in flight: when it started, which nodes have it, the counters.
    let current:
      | {
          id: number;
          origin: number;
          startedAt: number;
          reached: number;
          maxHops: number;
          copies: number;
          duplicates: number;
          done: (result: MeshMessageResult) => void;
        }
      | undefined;

    /** Sends `message` from `node` to every peer but `except`. */
    const forward = (node: Node, message: Gossip, except: PeerId | undefined) => {
      for (const peer of node.peers) {
        if (peer === except) continue;
        // Gossip is best effort: a copy a full send buffer refuses is dropped (others carry it).
        if (node.reactor.send(peer, message) === 'queued' && current) current.copies++;
      }
    };

    const links = meshLinks(count, options.links ?? 3);
    let linked = 0;
    const allLinked = new Promise<void>((resolve, reject) => {
      for (const node of nodes) {
        node.reactor.onEvent((event) => {
          switch (event.type) {
            case 'connected':
            case 'accepted':
              node.peers.add(event.peer);
              if (++linked === 2 * links.length) resolve();
              break;
            case 'connect-failed':
              reject(event.error);
              break;
            case 'disconnected':
              node.peers.delete(event.peer);
              break;
            case 'message': {
              const message = event.message;
              if (node.seen.has(message.id)) {
                if (current?.id === message.id) current.duplicates++;
                break;
              }
              node.seen.add(message.id);
              const relayed = { ...message, hops: message.hops + 1 };
              forward(node, relayed, event.peer);
              if (current?.id === message.id) {
                current.maxHops = Math.max(current.maxHops, relayed.hops);
                if (++current.reached === count) {
                  const { id, origin, maxHops, copies, duplicates } = current;
                  const millis = performance.now() - current.startedAt;
                  current.done({ id, origin, millis, maxHops, copies, duplicates });
                }
              }
              break;
            }
          }
        });
      }
    });
    for (const [from, to] of links) {
      nodes[from]!.reactor.connect(nodes[to]!.reactor.listenAddresses[0]!);
    }
    await allLinked;

    // The live view: every node's stats(), rates from the counters' change between samples.
    const onStats = options.onStats;
    const samplers = nodes.map((n) => new RateSampler(n.reactor));
    const linkedAt = performance.now();
    const sample = (phase: MeshStatsSample['phase']) =>
      onStats?.({
        phase,
        elapsedMs: performance.now() - linkedAt,
        nodes: samplers.map((s) => s.sample()),
      });
    if (onStats !== undefined) {
      sample('linked');
      ticker = setInterval(() => sample('gossip'), options.statsInterval ?? 250);
      ticker.unref();
    }

    const results: MeshMessageResult[] = [];
    for (let id = 1; id <= (options.messages ?? 5); id++) {
      if (id > 1 && (options.interval ?? 0) > 0) await sleep(options.interval);
      const origin = (id - 1) % count;
      const node = nodes[origin]!;
      const result = await new Promise<MeshMessageResult>((done) => {
        current = {
          id,
          origin,
          startedAt: performance.now(),
          reached: 1,
          maxHops: 0,
          copies: 0,
          duplicates: 0,
          done,
        };
        node.seen.add(id);
        forward(node, { id, origin, hops: 0, payload }, undefined);
      });
      results.push(result);
      options.onMessage?.(result);
    }
    clearInterval(ticker);
    sample('done');
    return { links, messages: results };
  } finally {
    clearInterval(ticker);
    await Promise.all(nodes.map((n) => n.reactor.shutdown({ flushTimeout: 0 })));
  }
}
