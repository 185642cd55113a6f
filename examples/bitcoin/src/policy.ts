/**
 * A listening Bitcoin node with Bitcoin Core's connection policy, as reactor options: how many
 * peers in and out, which inbound peer to evict when the table is full, how long a peer has for
 * its version/verack handshake, when a silent peer is dropped, and a 24-hour ban for a peer that
 * breaks the protocol. Everything here is the reactor's (admission control, `handshakeTimeout`,
 * `idleTimeout`, `ban`) and the TCP transport's (`keepAlive`); the node itself (`node.ts`) only
 * marks a peer `ready()` once its handshake is done.
 */
import { parseAddress, type RunOptions, run } from 'peerlink';
import { type BitcoinMessage, bitcoinCodecFactory } from './codec.js';
import { BitcoinNode, type BitcoinNodeOptions, type BitcoinPeer } from './node.js';

/** The reactor options of a node: what {@link CORE_POLICY} sets, and anything else to change. */
export type NodePolicy = Omit<RunOptions<BitcoinMessage, BitcoinPeer>, 'codec' | 'listen'>;

/** Bitcoin Core's defaults (`net.h`, `net_processing.cpp`), as reactor options. */
export const CORE_POLICY = {
  // -maxconnections 125, less 11 outbound: 8 full-relay, 2 block-relay-only, 1 feeler.
  maxInbound: 114,
  maxOutbound: 11,
  // When the inbound table is full, evict instead of refusing the newcomer: keep the peers that
  // sent us something last and the longest-connected half, evict the youngest peer of the
  // network group with the most peers (Core's AttemptToEvictConnection, without its protocol
  // notions such as ping times and relayed blocks). Core's network groups are /16 and /32.
  evictInbound: true,
  prefixLength: { ipv4: 16, ipv6: 32 },
  // Core limits no single address; an attacker's one host should not fill the table, though.
  maxInboundPerAddress: 8,
  // New connections, a token bucket: 10 a second, bursts of 20.
  acceptRate: { perSecond: 10, burst: 20 },
  // version/verack within 60 s (-peertimeout), then at least one byte every 20 min
  // (TIMEOUT_INTERVAL); the node pings every 2 min as Core does, so a live peer always answers.
  handshakeTimeout: 60_000,
  idleTimeout: 20 * 60_000,
  // Kernel keep-alive probes after 2 min of silence: dead links go even while both sides wait.
  tcp: { keepAlive: 120_000 },
} satisfies NodePolicy;

/** Core's default ban time (-bantime), in ms. */
export const BAN_TIME = 24 * 60 * 60 * 1000;

/** Options of {@link startBitcoinNode}. */
export interface StartOptions extends BitcoinNodeOptions {
  /** Where to listen. Default `127.0.0.1:0`. */
  readonly listen?: string;
  /** Changes to {@link CORE_POLICY} (tests use small numbers). */
  readonly policy?: NodePolicy;
}

/**
 * Starts a listening node with Core's policy. A peer that breaks the protocol (its bytes are
 * refused by the codec) is banned by address for {@link BAN_TIME}: it is disconnected, and its
 * new connections are refused. Stop with `reactor.shutdown()`.
 */
export async function startBitcoinNode(options: StartOptions = {}) {
  const reactor = await run<BitcoinMessage, BitcoinPeer>({
    codec: bitcoinCodecFactory(),
    listen: options.listen ?? '127.0.0.1:0',
    ...CORE_POLICY,
    ...options.policy,
  });
  const node = new BitcoinNode(reactor, options);
  // A listener of its own, beside the node's: the reactor hands every event to both.
  reactor.onEvent((event) => {
    if (event.type === 'disconnected' && event.reason.kind === 'codec-violation' && event.state) {
      reactor.ban(parseAddress(event.state.address).host, BAN_TIME);
    }
  });
  return { reactor, node };
}
