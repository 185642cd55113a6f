import {
  type Connection,
  type ConnectOptions,
  formatAddress,
  type Listener,
  type ListenHandler,
  PeerlinkError,
  parseAddress,
  type Transport,
} from '@peerlink/stream';
import { type ConnectionHooks, MemoryConnection, Runtime } from './connection.js';
import { MemoryErrorCodes } from './errors.js';
import { type LinkOptions, resolveLink } from './options.js';
import { mixSeed } from './prng.js';
import { realScheduler, type Scheduler } from './scheduler.js';

/** First port handed out for port 0 and for outbound connections' local addresses. */
const FIRST_EPHEMERAL_PORT = 49152;

/** Options for {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** The network seed, mixed into every link's seed. Default 0. */
  readonly seed?: number;
  /**
   * The clock and task queue every connection of the network runs on; pass a
   * {@link VirtualScheduler} for deterministic timing. Default: a new {@link realScheduler}.
   */
  readonly scheduler?: Scheduler;
  /** The behaviour of links no rule matches, and the base that matching rules override. */
  readonly defaults?: LinkOptions;
}

/**
 * Which connections a {@link MemoryNetwork.link} rule applies to. An omitted field matches
 * anything.
 */
export interface LinkMatch {
  /** The host of the connecting transport (its {@link MemoryTransport.host}). */
  readonly from?: string;
  /** The target, either a whole address (`'node-b:1'`) or only its host (`'node-b'`). */
  readonly to?: string;
}

/** A snapshot of what a network holds, for tests that check nothing is left behind. */
export interface MemoryNetworkStats {
  /** Bound listeners. */
  readonly listeners: number;
  /** Connection sides (two per connection) not yet closing. */
  readonly connections: number;
  /** Connect attempts neither resolved nor rejected yet. */
  readonly pendingConnects: number;
}

interface ListenerEntry {
  readonly handler: ListenHandler;
  /** The host of the transport that listens. */
  readonly owner: string;
}

/** Hosts that mean "any interface" when listening. */
const WILDCARD_HOSTS = ['0.0.0.0', '::'];
/** Hosts that mean "this node" when connecting. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

interface Rule {
  readonly match: LinkMatch;
  readonly options: LinkOptions;
}

/**
 * A simulated network of named hosts, all in one process, with no global state: each instance
 * is its own address space. Get a {@link Transport} per node with {@link transport}; listen on
 * addresses like `'node-a:1'` (port 0 allocates a free port, from 49152 up); connect by name; a
 * connect to an address nobody listens on is refused with `ECONNREFUSED`.
 *
 * Every connection's behaviour (chunking, latency, bandwidth, capacity, faults) comes from the
 * network's `defaults` overridden by each matching {@link link} rule, in the order the rules
 * were added. The side returned by `connect` is side `a` of the link and the accepted side is `b`.
 *
 * Determinism: connection serial numbers, ports and every link's random choices derive from the
 * network seed and the order of operations, so the same program over the same seed delivers the
 * same bytes in the same chunks, run after run. With a {@link VirtualScheduler} the timing and the
 * interleaving of events are reproduced too.
 */
export class MemoryNetwork {
  /** The scheduler every connection of this network runs on. */
  readonly scheduler: Scheduler;
  readonly #seed: number;
  readonly #defaults: LinkOptions;
  readonly #runtime: Runtime;
  readonly #rules: Rule[] = [];
  readonly #listeners = new Map<string, ListenerEntry>();
  readonly #nextPort = new Map<string, number>();
  #serial = 0;
  #hosts = 0;
  #connections = 0;
  #pending = 0;
  readonly #hooks: ConnectionHooks = {
    onClosing: () => {
      this.#connections--;
    },
  };

  constructor(options: MemoryNetworkOptions = {}) {
    this.scheduler = options.scheduler ?? realScheduler();
    this.#seed = (options.seed ?? 0) >>> 0;
    this.#defaults = options.defaults ?? {};
    resolveLink(this.#defaults, true);
    this.#runtime = new Runtime(this.scheduler);
  }

  /**
   * A {@link Transport} for one node of this network. `host` names the node: it is the host part
   * of the local address of its outbound connections, and what {@link LinkMatch.from} matches.
   * Default: `node-1`, `node-2`, … in creation order. A transport may listen on any host name.
   */
  transport(host?: string): MemoryTransport {
    const name = host ?? `node-${++this.#hosts}`;
    return {
      network: this,
      host: name,
      listen: async (address, handler) => this.#listen(name, address, handler),
      connect: (target, options) => this.#connect(name, target, options),
    };
  }

  /**
   * Adds a rule: connections matching `match` get `options` (over the defaults and earlier
   * rules). Applies to connections opened from now on. Throws `ERR_INVALID_CONFIG`, naming the
   * field, on invalid options.
   */
  link(match: LinkMatch, options: LinkOptions): this {
    resolveLink(options, true);
    this.#rules.push({ match, options });
    return this;
  }

  /** What the network holds now. */
  stats(): MemoryNetworkStats {
    return {
      listeners: this.#listeners.size,
      connections: this.#connections,
      pendingConnects: this.#pending,
    };
  }

  #listen(owner: string, address: string, handler: ListenHandler): Listener {
    const { host, port } = parseAddress(address);
    const bound = formatAddress(host, port === 0 ? this.#freePort(host) : port);
    if (this.#listeners.has(bound)) {
      throw new PeerlinkError(MemoryErrorCodes.ADDRESS_IN_USE, `listen EADDRINUSE ${bound}`);
    }
    const entry: ListenerEntry = { handler, owner };
    this.#listeners.set(bound, entry);
    const listeners = this.#listeners;
    return {
      address: bound,
      close: () => {
        if (listeners.get(bound) === entry) listeners.delete(bound);
        return Promise.resolve();
      },
    };
  }

  #connect(from: string, target: string, options: ConnectOptions | undefined): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const signal = options?.signal;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const { host, port } = parseAddress(target);
      const key = formatAddress(host, port);
      const link = this.#linkFor(from, key, host);
      const configs = resolveLink(link, true);
      const connectFault = link.faults?.find((f) => f.kind === 'refuse' || f.kind === 'blackhole');
      this.#pending++;
      let settled = false;
      let timer: unknown;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        this.#pending--;
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) this.scheduler.clearTimeout(timer);
        return true;
      };
      const onAbort = (): void => {
        if (settle()) reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (connectFault?.kind === 'blackhole') return;

      const complete = (): void => {
        timer = undefined;
        if (!settle()) return;
        const entry = this.#listenerFor(from, key, host, port);
        if (entry === undefined || connectFault?.kind === 'refuse') {
          reject(
            new PeerlinkError(MemoryErrorCodes.CONNECTION_REFUSED, `connect ECONNREFUSED ${key}`),
          );
          return;
        }
        const serial = ++this.#serial;
        const seed = mixSeed(this.#seed, (link.seed ?? 0) >>> 0, serial);
        const local = formatAddress(from, this.#freePort(from));
        const [a, b] = MemoryConnection.pair(
          this.#runtime,
          configs,
          seed,
          [local, key],
          this.#hooks,
        );
        this.#connections += 2;
        try {
          entry.handler.onConnection(b);
        } catch (error) {
          b.reset();
          entry.handler.onError?.(error instanceof Error ? error : new Error(String(error)));
        }
        resolve(a);
      };
      // One round trip (SYN, SYN-ACK) before both sides see the connection.
      const handshake = 2 * (link.latency ?? 0);
      if (handshake > 0) timer = this.scheduler.setTimeout(complete, handshake);
      else this.scheduler.defer(complete);
    });
  }

  /**
   * The listener a connect from `from` to `key` reaches: the one bound to exactly `key`, else a
   * wildcard listener (`0.0.0.0`, `::`) on the same port whose node is the target host, or the
   * connecting node itself when the target host is a loopback name.
   */
  #listenerFor(from: string, key: string, host: string, port: number): ListenerEntry | undefined {
    const exact = this.#listeners.get(key);
    if (exact !== undefined) return exact;
    for (const wildcard of WILDCARD_HOSTS) {
      const entry = this.#listeners.get(formatAddress(wildcard, port));
      if (entry === undefined) continue;
      if (entry.owner === host || (LOOPBACK_HOSTS.has(host) && entry.owner === from)) return entry;
    }
    return undefined;
  }

  #linkFor(from: string, key: string, host: string): LinkOptions {
    let merged: LinkOptions = this.#defaults;
    for (const { match, options } of this.#rules) {
      if (match.from !== undefined && match.from !== from) continue;
      if (match.to !== undefined && match.to !== key && match.to !== host) continue;
      merged = { ...merged, ...options };
    }
    return merged;
  }

  #freePort(host: string): number {
    let port = this.#nextPort.get(host) ?? FIRST_EPHEMERAL_PORT;
    for (let tries = 0; tries <= 65535 - FIRST_EPHEMERAL_PORT; tries++) {
      const candidate = port;
      port = port >= 65535 ? FIRST_EPHEMERAL_PORT : port + 1;
      if (!this.#listeners.has(formatAddress(host, candidate))) {
        this.#nextPort.set(host, port);
        return candidate;
      }
    }
    throw new PeerlinkError(MemoryErrorCodes.ADDRESS_IN_USE, `no free port on ${host}`);
  }
}

/**
 * A {@link Transport} bound to one node of a {@link MemoryNetwork}; get one with
 * {@link MemoryNetwork.transport}.
 *
 * `listen(address, handler)` binds `address` (`host:port`; port 0 picks a free port, reported in
 * `Listener.address`). Any host name may be bound. A wildcard host (`0.0.0.0`, `[::]`) stands for
 * this node: it accepts connects to `<this host>:port`, and to `127.0.0.1`, `localhost` or
 * `[::1]` on that port from this same node. Rejects with `EADDRINUSE` when the address has a
 * listener, `ERR_INVALID_ARGUMENT` when it is not `host:port`.
 *
 * `connect(target, options)` completes after one round trip of the link's latency (at the next
 * macrotask when it is 0); rejects with `ECONNREFUSED` when nobody listens there (or a `refuse`
 * fault applies), never settles under a `blackhole` fault, and rejects with `signal.reason` on
 * abort, leaving nothing behind.
 */
export interface MemoryTransport extends Transport {
  /** The network this transport belongs to. */
  readonly network: MemoryNetwork;
  /** This node's host name: the host of its outbound connections' local addresses. */
  readonly host: string;
}
