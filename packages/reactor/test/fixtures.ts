import {
  type Codec,
  decoded,
  incomplete,
  lengthPrefixed,
  malformed,
  readU64LE,
} from '@peerlink/codec';
import type {
  KeepEvent,
  PeerId,
  PeerStats,
  Reactor,
  ReactorEvent,
  ReactorStats,
} from '@peerlink/reactor';

/** The Rust crate's pingpong wire format: ASCII `ping`/`pong` then a u64 LE; 12 bytes a message. */
export type PingPong = { readonly kind: 'ping' | 'pong'; readonly n: bigint };

export const pingPongCodec: Codec<PingPong> = {
  maxSize: 12,
  encode(message, sink) {
    const o = sink.reserve(4);
    const tag = message.kind === 'ping' ? PING : PONG;
    sink.buffer.set(tag, o);
    sink.writeU64LE(message.n);
    return 12;
  },
  decode(bytes) {
    if (bytes.length < 12) return incomplete();
    const p = bytes[1];
    if (bytes[0] !== 0x70 || bytes[2] !== 0x6e || bytes[3] !== 0x67 || (p !== 0x69 && p !== 0x6f)) {
      return malformed('not ping or pong');
    }
    return decoded({ kind: p === 0x69 ? 'ping' : 'pong', n: readU64LE(bytes, 4) }, 12);
  },
  sizeHint: () => 12,
};
const PING = new TextEncoder().encode('ping');
const PONG = new TextEncoder().encode('pong');

/** Raw byte messages with a u32 BE length prefix; frames up to 16 MiB + 4. */
export const bytesCodec = lengthPrefixed({ maxSize: 16 * 1024 * 1024 + 4 });

/** A small-frame variant for limit tests: frames up to 1 KiB. */
export const smallCodec = lengthPrefixed({ maxSize: 1024 });

/** Frames up to 16 KiB: send limits that are multiples of `maxSize` stay small. */
export const framesCodec = lengthPrefixed({ maxSize: 16 * 1024 + 4 });

/** Records every event of a reactor and lets a test wait for the ones it expects. */
export class Recorder<M> {
  readonly events: ReactorEvent<M>[] = [];
  private waiters: Array<{
    test: (e: ReactorEvent<M>) => boolean;
    resolve: (e: ReactorEvent<M>) => void;
  }> = [];

  constructor(
    reactor: Reactor<M>,
    onEvent?: (event: ReactorEvent<M>, recorder: Recorder<M>) => void,
  ) {
    reactor.onEvent((event) => {
      this.events.push(event);
      onEvent?.(event, this);
      if (this.waiters.length > 0) {
        this.waiters = this.waiters.filter((w) => {
          if (w.test(event)) {
            w.resolve(event);
            return false;
          }
          return true;
        });
      }
    });
  }

  /** Resolves with the first event (already recorded or future) matching `test`. */
  waitFor<E extends ReactorEvent<M>>(test: (e: ReactorEvent<M>) => e is E): Promise<E>;
  waitFor(test: (e: ReactorEvent<M>) => boolean): Promise<ReactorEvent<M>>;
  waitFor(test: (e: ReactorEvent<M>) => boolean): Promise<ReactorEvent<M>> {
    const found = this.events.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Resolves once `count` events (recorded so far or future) match `test`. */
  waitForCount(test: (e: ReactorEvent<M>) => boolean, count: number): Promise<ReactorEvent<M>[]> {
    const matching = this.events.filter(test);
    if (matching.length >= count) return Promise.resolve(matching);
    return new Promise((resolve) => {
      this.waiters.push({
        test: (e) => {
          if (test(e)) matching.push(e);
          return matching.length >= count;
        },
        resolve: () => resolve(matching),
      });
    });
  }

  messagesFrom(peer: PeerId): M[] {
    const out: M[] = [];
    for (const e of this.events) if (e.type === 'message' && e.peer === peer) out.push(e.message);
    return out;
  }

  disconnects(peer: PeerId) {
    return this.events.filter((e) => e.type === 'disconnected' && e.peer === peer);
  }
}

export const isType =
  <T extends ReactorEvent<unknown>['type']>(type: T, peer?: PeerId) =>
  (e: ReactorEvent<unknown>): boolean =>
    e.type === type && (peer === undefined || !('peer' in e) || e.peer === peer);

export function ping(n: number): PingPong {
  return { kind: 'ping', n: BigInt(n) };
}
export function pong(n: number): PingPong {
  return { kind: 'pong', n: BigInt(n) };
}

/** Bytes 0..n-1 pattern, distinct per `seed`. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Collects keep events and lets a test wait for the n-th one that matches (recorded or future). */
export function keepCollector() {
  const events: KeepEvent[] = [];
  const waiters: Array<() => void> = [];
  return {
    events,
    onEvent(event: KeepEvent) {
      events.push(event);
      for (const w of waiters.splice(0)) w();
    },
    nth(test: (e: KeepEvent) => boolean, n = 1): Promise<KeepEvent> {
      return new Promise((resolve) => {
        const check = () => {
          const found = events.filter(test);
          if (found.length >= n) resolve(found[n - 1]!);
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** A `PeerStats` as `stats()` would give it, all counters 0 but those in `fields`. */
export function peerSnapshot(peer: PeerId, fields: Partial<PeerStats> = {}): PeerStats {
  return {
    peer,
    direction: 'inbound',
    remoteAddress: '127.0.0.1:1',
    localAddress: '127.0.0.1:2',
    connectedAt: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesQueued: 0,
    oldestQueuedAge: undefined,
    rxBufferCapacity: 0,
    txBufferCapacity: 0,
    paused: false,
    blocked: false,
    ready: false,
    ...fields,
  };
}

/** A `ReactorStats` of `peers` (counted in `peers`), all else 0 or empty but `extra`. */
export function statsSnapshot(
  peers: PeerStats[] = [],
  extra: Partial<ReactorStats> = {},
): ReactorStats {
  return {
    peers: peers.length,
    closing: 0,
    listeners: 0,
    pendingConnects: 0,
    pausedPeers: 0,
    queuedEvents: 0,
    eventCapacity: 1024,
    totals: { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 },
    disconnects: {},
    refused: {},
    outbound: 0,
    bans: 0,
    peerStats: peers,
    ...extra,
  };
}
