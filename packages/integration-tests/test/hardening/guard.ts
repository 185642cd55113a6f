/**
 * The checks every hardening test runs besides its own assertions:
 * - no `uncaughtException` or `unhandledRejection` while the test ran (listeners record them, and
 *   `afterEach` fails on any);
 * - exactly one `disconnected` per peer of every watched reactor, and none for a peer that was
 *   never opened, with every reactor's peer map empty after shutdown;
 * - no sockets, servers or timers left behind: `process.getActiveResourcesInfo()` counts of
 *   `TCPSocketWrap`, `TCPServerWrap`, `Timeout` (and child-process handles) back to their
 *   baseline taken before the test.
 *
 * Use {@link useHardening} once per test file; it returns a {@link Harness} whose helpers
 * register everything they open for teardown.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { Codec } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent, type ReactorOptions } from '@peerlink/reactor';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { isType, Recorder } from '../../../reactor/test/fixtures.js';

/** Resource kinds whose counts must come back to their baseline. */
const WATCHED = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'ProcessWrap', 'PipeWrap'] as const;

/** Counts of the watched kinds of active resources. */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(WATCHED.map((k) => [k, 0]));
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind]! += 1;
  }
  return counts;
}

function atOrBelow(now: Record<string, number>, base: Record<string, number>): boolean {
  return WATCHED.every((k) => (now[k] ?? 0) <= (base[k] ?? 0));
}

/** Yields one macrotask (not a timer: immediates are not counted as resources). */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Waits, one macrotask at a time, until `condition` holds; fails after `limit` ms. For conditions
 * no event announces (a server handle closing after `close()` returned).
 */
export async function until(condition: () => boolean, what: string, limit = 5000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > limit) throw new Error(`timed out waiting for ${what}`);
    await turn();
  }
}

/**
 * Tracks the peers of one reactor from its events: every peer opened (`connected`/`accepted`)
 * must get exactly one `disconnected`; no event may name a peer after its `disconnected`.
 */
export class PeerLedger {
  readonly opened = new Set<PeerId>();
  readonly disconnects = new Map<PeerId, number>();
  readonly problems: string[] = [];

  observe(event: ReactorEvent<unknown>): void {
    switch (event.type) {
      case 'connected':
      case 'accepted':
        if (this.opened.has(event.peer)) this.problems.push(`peer ${event.peer} opened twice`);
        this.opened.add(event.peer);
        break;
      case 'disconnected': {
        if (!this.opened.has(event.peer))
          this.problems.push(`disconnected for unknown ${event.peer}`);
        const n = (this.disconnects.get(event.peer) ?? 0) + 1;
        this.disconnects.set(event.peer, n);
        if (n > 1) this.problems.push(`peer ${event.peer}: ${n} disconnected events`);
        break;
      }
      case 'message':
        if (this.disconnects.has(event.peer))
          this.problems.push(`message from peer ${event.peer} after its disconnected`);
        break;
      default:
        break;
    }
  }

  /** Peers opened and not yet disconnected. */
  get live(): PeerId[] {
    return [...this.opened].filter((p) => !this.disconnects.has(p));
  }

  /** After shutdown: every opened peer has exactly one `disconnected`. */
  assertComplete(name: string): void {
    expect(this.problems, `${name}: event problems`).toEqual([]);
    for (const peer of this.opened) {
      expect(this.disconnects.get(peer) ?? 0, `${name}: disconnects of peer ${peer}`).toBe(1);
    }
  }
}

/** A reactor under watch: its events recorded and checked by a {@link PeerLedger}. */
export interface Watched<M> {
  readonly r: Reactor<M>;
  /** Recorder of every event (absent when the test consumes events itself). */
  readonly rec: Recorder<M>;
  readonly ledger: PeerLedger;
}

/** Everything one test opened, torn down in reverse order, then checked. */
export class Harness {
  readonly faults: unknown[] = [];
  private baseline: Record<string, number> = {};
  private readonly cleanups: Array<() => unknown> = [];
  private readonly watched: Array<{ name: string; r: Reactor<unknown>; ledger: PeerLedger }> = [];
  private counter = 0;

  /** @internal */ readonly onFault = (error: unknown): void => {
    this.faults.push(error);
  };

  /** @internal A listener-leak warning (`MaxListenersExceededWarning`) counts as a fault. */
  readonly onWarning = (warning: Error): void => {
    if (warning.name === 'MaxListenersExceededWarning') this.faults.push(warning);
  };

  /** @internal */ begin(): void {
    this.faults.length = 0;
    this.baseline = resourceCounts();
  }

  /** Registers a teardown step (run in reverse order of registration). */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  /**
   * A reactor whose events are recorded (with `onEvent`) and checked; shut down after the test.
   * `onEvent` runs on every event after it is recorded (e.g. to echo).
   */
  reactor<M>(
    options: ReactorOptions<M>,
    onEvent?: (event: ReactorEvent<M>, rec: Recorder<M>) => void,
  ): Watched<M> {
    const r = new Reactor<M>(options);
    const ledger = new PeerLedger();
    const rec = new Recorder<M>(r, (event, recorder) => {
      ledger.observe(event as ReactorEvent<unknown>);
      onEvent?.(event, recorder);
    });
    this.adopt(r, ledger, options.name);
    return { r, rec, ledger };
  }

  /**
   * Registers a reactor whose events the test consumes itself (through `events()`), feeding each
   * to `ledger.observe`. Shut down and checked after the test.
   */
  adopt<M>(r: Reactor<M>, ledger: PeerLedger, name?: string): void {
    this.watched.push({
      name: name ?? `reactor ${++this.counter}`,
      r: r as Reactor<unknown>,
      ledger,
    });
    this.defer(() => r.shutdown({ flushTimeout: 0 }));
  }

  /**
   * A raw `net` socket connected to `127.0.0.1:port` (or `host`), with an error listener, flowing (what it
   * reads is dropped unless the test listens; `pause()` it to stop reading); closed after.
   */
  async socket(
    port: number,
    options: { allowHalfOpen?: boolean; host?: string } = {},
  ): Promise<net.Socket> {
    const s = net.connect({ port, host: '127.0.0.1', ...options });
    s.on('error', () => {});
    s.resume();
    this.defer(async () => {
      if (!s.closed) {
        s.destroy();
        await once(s, 'close');
      }
    });
    await once(s, 'connect');
    return s;
  }

  /** A raw `net` server on `127.0.0.1:0`; closed (and its connections destroyed) after. */
  async server(onConnection: (socket: net.Socket) => void = () => {}): Promise<net.Server> {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => {});
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      onConnection(socket);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    this.defer(async () => {
      const closed = new Promise((resolve) => srv.close(resolve));
      await Promise.all(
        [...sockets].map((s) => {
          s.destroy();
          return s.closed ? undefined : once(s, 'close');
        }),
      );
      await closed;
    });
    return srv;
  }

  /** @internal */ async end(): Promise<void> {
    const errors: unknown[] = [];
    for (const f of this.cleanups.splice(0).reverse()) {
      try {
        await f();
      } catch (error) {
        errors.push(error);
      }
    }
    const watched = this.watched.splice(0);
    for (const { name, r, ledger } of watched) {
      expect(r.peerCount, `${name}: peers left after shutdown`).toBe(0);
      ledger.assertComplete(name);
    }
    try {
      await until(() => atOrBelow(resourceCounts(), this.baseline), 'resources to be released');
    } catch {
      expect(resourceCounts(), 'active resources after the test').toEqual(this.baseline);
    }
    expect(this.faults, 'uncaught exceptions or unhandled rejections').toEqual([]);
    if (errors.length > 0) throw errors[0];
  }
}

/**
 * Installs the hardening hooks for the current test file and returns its {@link Harness}.
 */
export function useHardening(): Harness {
  const h = new Harness();
  beforeAll(() => {
    process.on('uncaughtException', h.onFault);
    process.on('unhandledRejection', h.onFault);
    process.on('warning', h.onWarning);
  });
  afterAll(() => {
    process.off('uncaughtException', h.onFault);
    process.off('unhandledRejection', h.onFault);
    process.off('warning', h.onWarning);
  });
  beforeEach(() => h.begin());
  afterEach(() => h.end());
  return h;
}

/** The `port` of a `host:port` address. */
export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/**
 * A peer that must stay unaffected by whatever happens to others on the same server: a client
 * reactor connected to `address`, checked with a round trip on demand.
 */
export interface Bystander<M> {
  readonly client: Watched<M>;
  /** The bystander's id on the client. */
  readonly peer: PeerId;
  /** Its id on the server. */
  readonly serverPeer: PeerId;
  /**
   * Sends `message` each way and waits for both; asserts neither side saw it disconnect.
   */
  roundTrip(): Promise<void>;
}

/**
 * Connects a bystander client to `server` at `address` (through `client`'s transport), using
 * `sample` as the message it exchanges.
 */
export async function bystander<M>(
  h: Harness,
  server: Watched<M>,
  address: string,
  options: { codec: Codec<M>; transport: ReactorOptions<M>['transport']; sample: M },
): Promise<Bystander<M>> {
  const client = h.reactor<M>({
    codec: options.codec,
    transport: options.transport,
    name: 'bystander',
  });
  const accepted = server.rec.waitForCount(isType('accepted'), server.ledger.opened.size + 1);
  const peer = await client.r.connect(address);
  const all = await accepted;
  const connected = client.rec.events.find((e) => e.type === 'connected' && e.peer === peer) as
    | Extract<ReactorEvent<M>, { type: 'connected' }>
    | undefined;
  // Matched on both ends (a client port can be reused towards another server address).
  const mine = all.find(
    (e) =>
      e.type === 'accepted' &&
      e.remoteAddress === connected?.localAddress &&
      e.localAddress === connected?.remoteAddress,
  ) as Extract<ReactorEvent<M>, { type: 'accepted' }> | undefined;
  if (mine === undefined) throw new Error('bystander: server did not accept it');
  const serverPeer = mine.peer;
  let rounds = 0;
  return {
    client,
    peer,
    serverPeer,
    async roundTrip() {
      rounds++;
      const fromClient = server.rec.waitForCount(isType('message', serverPeer), rounds);
      const fromServer = client.rec.waitForCount(isType('message', peer), rounds);
      expect(client.r.send(peer, options.sample)).toBe('queued');
      await fromClient;
      expect(server.r.send(serverPeer, options.sample)).toBe('queued');
      await fromServer;
      expect(client.rec.disconnects(peer), 'bystander disconnected (client side)').toEqual([]);
      expect(server.rec.disconnects(serverPeer), 'bystander disconnected (server side)').toEqual(
        [],
      );
    },
  };
}
