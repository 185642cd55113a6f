/**
 * The two networks the hardening tests run on, behind one shape: TCP on 127.0.0.1 and the memory
 * network. A "raw" peer is a hand-driven connection with no reactor behind it (what a hostile or
 * broken remote looks like).
 */
import { once } from 'node:events';
import type { Connection, Transport } from '@peerlink/stream';
import { type LinkOptions, MemoryNetwork, type Scheduler } from '@peerlink/transport-memory';
import { tcpTransport } from '@peerlink/transport-tcp';
import type { Harness } from './guard.js';

/** A hand-driven connection to a reactor. */
export interface RawPeer {
  write(bytes: Uint8Array): boolean;
  /** Half-closes (FIN). */
  end(): void;
  /** Aborts with a reset. */
  reset(): void;
  /** Stops reading (the remote's writes back up). */
  pause(): void;
  resume(): void;
  /** Bytes received so far. */
  readonly received: number;
  /** Every byte received so far, concatenated. */
  bytes(): Uint8Array;
  /** Resolves at end of stream from the reactor. */
  readonly ended: Promise<void>;
  /** Resolves when the connection is closed, with its error if any. */
  readonly closed: Promise<Error | undefined>;
  /** Resolves at the first of end of stream or close: the reactor let go of us. */
  readonly gone: Promise<void>;
}

export interface TestNet {
  readonly name: string;
  /** A transport for one more reactor (on the memory network: on host `host`, if given). */
  transport(host?: string): Transport;
  /** A listen address with port 0. */
  readonly listenAddress: string;
  /** A raw client connected to `address`. */
  raw(address: string): Promise<RawPeer>;
}

class Collector {
  chunks: Uint8Array[] = [];
  received = 0;
  add(chunk: Uint8Array) {
    this.chunks.push(chunk.slice());
    this.received += chunk.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.received);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/**
 * TCP over 127.0.0.1 (or `::1` with `ipv6`); raw peers are plain `net` sockets (half-open
 * allowed).
 */
export function tcpNet(h: Harness, ipv6 = false): TestNet {
  return {
    name: ipv6 ? 'TCP (IPv6)' : 'TCP',
    transport: () => tcpTransport(),
    listenAddress: ipv6 ? '[::1]:0' : '127.0.0.1:0',
    async raw(address) {
      const port = Number(address.slice(address.lastIndexOf(':') + 1));
      const s = await h.socket(port, { allowHalfOpen: true, host: ipv6 ? '::1' : '127.0.0.1' });
      const c = new Collector();
      let error: Error | undefined;
      s.on('data', (d: Buffer) => c.add(d));
      s.on('error', (e) => {
        error ??= e;
      });
      const ended = once(s, 'end').then(() => {});
      ended.catch(() => {});
      const closed = once(s, 'close').then(() => error);
      const gone = Promise.race([ended, closed]).then(() => {});
      return {
        write: (b) => s.write(b),
        end: () => s.end(),
        reset: () => s.resetAndDestroy(),
        pause: () => s.pause(),
        resume: () => s.resume(),
        get received() {
          return c.received;
        },
        bytes: () => c.bytes(),
        ended,
        closed,
        gone,
      };
    },
  };
}

/** Raw peer over a memory {@link Connection}. */
export function rawMemoryPeer(h: Harness, conn: Connection): RawPeer {
  const c = new Collector();
  let endedResolve!: () => void;
  let closedResolve!: (e: Error | undefined) => void;
  const ended = new Promise<void>((r) => {
    endedResolve = r;
  });
  const closed = new Promise<Error | undefined>((r) => {
    closedResolve = r;
  });
  let isClosed = false;
  conn.start({
    onData: (chunk) => c.add(chunk),
    onDrain: () => {},
    onEnd: () => endedResolve(),
    onClose: (e) => {
      isClosed = true;
      closedResolve(e);
    },
  });
  h.defer(async () => {
    if (!isClosed) {
      conn.close();
      await closed;
    }
  });
  return {
    write: (b) => conn.write(b),
    end: () => conn.end(),
    reset: () => conn.reset(),
    pause: () => conn.pause(),
    resume: () => conn.resume(),
    get received() {
      return c.received;
    },
    bytes: () => c.bytes(),
    ended,
    closed,
    gone: Promise.race([ended, closed]).then(() => {}),
  };
}

/** A memory network (seeded chunking by default); raw peers connect from host `raw`. */
export function memoryNet(
  h: Harness,
  options: { seed?: number; scheduler?: Scheduler; defaults?: LinkOptions } = {},
): TestNet & { network: MemoryNetwork } {
  const network = new MemoryNetwork({ seed: options.seed ?? 1, ...options });
  const rawTransport = network.transport('raw');
  return {
    name: 'memory',
    network,
    transport: (host) => network.transport(host),
    listenAddress: 'server:0',
    async raw(address) {
      return rawMemoryPeer(h, await rawTransport.connect(address));
    },
  };
}
