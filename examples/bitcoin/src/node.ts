/**
 * A small Bitcoin node on a peerlink reactor: it completes the version/verack handshake in both
 * directions, answers pings and pings every peer every 2 minutes, and downloads and checks the header chain with
 * `getheaders`. It keeps no blocks and relays nothing.
 */
import { randomBytes } from 'node:crypto';
import type { PeerId, Reactor, ReactorEvent } from 'peerlink';
import { HeaderChain } from './chain.js';
import { type BitcoinMessage, type NetAddress, PROTOCOL_VERSION, ZERO_HASH } from './codec.js';

/** `NODE_NETWORK`: we can serve the header chain we have. */
const NODE_NETWORK = 1n;

/** What the peer told us in its `version`. */
export interface PeerVersion {
  readonly version: number;
  readonly userAgent: string;
  readonly startHeight: number;
  readonly services: bigint;
}

/**
 * What the node keeps per peer, in the reactor's per-peer slot (`Reactor<BitcoinMessage,
 * BitcoinPeer>`): readable as `reactor.state(peer)`, in `peerStats(peer).state`, and in the
 * peer's `disconnected` event.
 */
export interface BitcoinPeer {
  readonly outbound: boolean;
  /** The peer's address (`host:port`). */
  readonly address: string;
  /** Its `version`, once received. */
  version: PeerVersion | undefined;
  /** We sent our `version`. */
  sentVersion: boolean;
  /** The peer's `verack` arrived. */
  gotVerack: boolean;
  ready: Array<(version: PeerVersion) => void>;
  failed: Array<(error: Error) => void>;
  pings: Map<bigint, () => void>;
  sync: { resolve: (height: number) => void; reject: (error: Error) => void } | undefined;
  /** Our pings to it, once its handshake is done. */
  pinger: ReturnType<typeof setInterval> | undefined;
}

/** Options of {@link BitcoinNode}. */
export interface BitcoinNodeOptions {
  /** Sent in our `version`. Default `/peerlink-example:0.0.0/`. */
  readonly userAgent?: string;
  /**
   * How often each peer is pinged once its handshake is done, in ms. Default 120000 (Core's
   * `PING_INTERVAL`): a live peer then always sends something within an `idleTimeout`.
   */
  readonly pingInterval?: number;
}

/** The node. Give it a reactor made with `bitcoinCodecFactory()`; it takes the reactor's events. */
export class BitcoinNode {
  /** The header chain downloaded so far (regtest). */
  readonly chain = new HeaderChain();
  /** `ping`s we answered. */
  pingsAnswered = 0;
  private readonly nonce = randomBytes(8).readBigUInt64LE();
  private readonly userAgent: string;
  private readonly pingInterval: number;

  constructor(
    readonly reactor: Reactor<BitcoinMessage, BitcoinPeer>,
    options: BitcoinNodeOptions = {},
  ) {
    this.userAgent = options.userAgent ?? '/peerlink-example:0.0.0/';
    this.pingInterval = options.pingInterval ?? 120_000;
    reactor.onEvent(
      (event) => this.onEvent(event),
      (peer, message) => this.onMessage(peer, message),
    );
  }

  /** Resolves with the peer's `version` once the handshake with `peer` is complete both ways. */
  handshake(peer: PeerId): Promise<PeerVersion> {
    const state = this.reactor.state(peer);
    if (state === undefined) return Promise.reject(new Error(`no peer ${peer}`));
    if (state.version !== undefined && state.gotVerack) return Promise.resolve(state.version);
    return new Promise((resolve, reject) => {
      state.ready.push(resolve);
      state.failed.push(reject);
    });
  }

  /** Waits for the next inbound peer to complete its handshake; resolves with its id. */
  nextInbound(): Promise<PeerId> {
    return new Promise((resolve) => this.inboundWaiters.push(resolve));
  }
  private readonly inboundWaiters: Array<(peer: PeerId) => void> = [];

  /** Sends a `ping` and resolves with the round trip in ms when the matching `pong` arrives. */
  ping(peer: PeerId): Promise<number> {
    const state = this.reactor.state(peer);
    if (state === undefined) return Promise.reject(new Error(`no peer ${peer}`));
    const nonce = randomBytes(8).readBigUInt64LE();
    const started = performance.now();
    return new Promise((resolve, reject) => {
      state.failed.push(reject);
      state.pings.set(nonce, () => {
        state.failed.splice(state.failed.indexOf(reject), 1);
        resolve(performance.now() - started);
      });
      this.send(peer, { type: 'ping', nonce });
    });
  }

  /**
   * Downloads the peer's header chain with `getheaders` (2,000 headers a round), checking each
   * header's link and proof of work; resolves with the height reached when the peer sends fewer
   * than 2,000. A header that does not check out disconnects the peer and rejects.
   */
  syncHeaders(peer: PeerId): Promise<number> {
    const state = this.reactor.state(peer);
    if (state === undefined) return Promise.reject(new Error(`no peer ${peer}`));
    return new Promise((resolve, reject) => {
      state.sync = { resolve, reject };
      this.requestHeaders(peer);
    });
  }

  private requestHeaders(peer: PeerId): void {
    this.send(peer, {
      type: 'getheaders',
      version: PROTOCOL_VERSION,
      locator: this.chain.locator(),
      stop: ZERO_HASH,
    });
  }

  private send(peer: PeerId, message: BitcoinMessage): void {
    // Handshake and control messages are small: the send buffer never refuses them here. A node
    // that sends blocks would keep a backlog (see the reactor README's backpressure pattern).
    this.reactor.send(peer, message);
  }

  private sendVersion(peer: PeerId, state: BitcoinPeer): void {
    const none: NetAddress = { services: 0n, ip: new Uint8Array(16), port: 0 };
    state.sentVersion = true;
    this.send(peer, {
      type: 'version',
      version: PROTOCOL_VERSION,
      services: NODE_NETWORK,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      receiver: none,
      sender: none,
      nonce: this.nonce,
      userAgent: this.userAgent,
      startHeight: this.chain.height,
      relay: false,
    });
  }

  private onEvent(event: ReactorEvent<BitcoinMessage, BitcoinPeer>): void {
    switch (event.type) {
      case 'connected':
      case 'accepted': {
        const state: BitcoinPeer = {
          outbound: event.type === 'connected',
          address: event.remoteAddress,
          version: undefined,
          sentVersion: false,
          gotVerack: false,
          ready: [],
          failed: [],
          pings: new Map(),
          sync: undefined,
          pinger: undefined,
        };
        this.reactor.setState(event.peer, state);
        // The side that connects speaks first.
        if (state.outbound) this.sendVersion(event.peer, state);
        break;
      }
      case 'disconnected': {
        const state = event.state; // the peer is gone: its last state comes with the event
        if (state === undefined) break;
        clearInterval(state.pinger);
        const error = new Error(`peer ${event.peer} disconnected: ${event.reason.kind}`);
        for (const fail of state.failed) fail(error);
        state.sync?.reject(error);
        break;
      }
      case 'message':
        this.onMessage(event.peer, event.message);
        break;
      default:
        break;
    }
  }

  private onMessage(peer: PeerId, message: BitcoinMessage): void {
    const state = this.reactor.state(peer);
    if (state === undefined) return;
    // The codec has already refused anything out of handshake order.
    switch (message.type) {
      case 'version':
        if (message.nonce === this.nonce) {
          this.reactor.disconnect(peer); // connected to ourselves
          return;
        }
        state.version = {
          version: message.version,
          userAgent: message.userAgent,
          startHeight: message.startHeight,
          services: message.services,
        };
        if (!state.sentVersion) this.sendVersion(peer, state);
        this.send(peer, { type: 'verack' });
        break;
      case 'verack':
        state.gotVerack = true;
        this.reactor.ready(peer); // the handshake is done: `handshakeTimeout` no longer applies
        state.pinger = setInterval(() => this.ping(peer).catch(() => {}), this.pingInterval);
        state.pinger.unref();
        for (const resolve of state.ready.splice(0)) resolve(state.version!);
        state.failed.length = 0;
        if (!state.outbound) for (const resolve of this.inboundWaiters.splice(0)) resolve(peer);
        break;
      case 'ping':
        this.pingsAnswered++;
        this.send(peer, { type: 'pong', nonce: message.nonce });
        break;
      case 'pong':
        state.pings.get(message.nonce)?.();
        state.pings.delete(message.nonce);
        break;
      case 'getheaders':
        // We serve no chain of our own: an empty answer says "nothing after your locator".
        this.send(peer, { type: 'headers', headers: [] });
        break;
      case 'headers': {
        const sync = state.sync;
        if (sync === undefined) break;
        const error = this.chain.add(message.headers);
        if (error !== undefined) {
          state.sync = undefined;
          this.reactor.disconnect(peer);
          sync.reject(new Error(`bad header chain from peer ${peer}: ${error}`));
        } else if (message.headers.length === 2000) {
          this.requestHeaders(peer);
        } else {
          state.sync = undefined;
          sync.resolve(this.chain.height);
        }
        break;
      }
      default:
        break;
    }
  }
}
