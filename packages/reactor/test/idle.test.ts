import { PeerlinkError } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from './fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/** A server with `idleTimeout` and clients, all on one simulated network and clock. */
function world(idleTimeout: number, eventCapacity?: number) {
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({ seed: 9, scheduler });
  const server = new Reactor({
    codec: pingPongCodec,
    transport: network.transport('server'),
    timers: scheduler,
    idleTimeout,
    ...(eventCapacity === undefined ? {} : { eventCapacity }),
  });
  reactors.push(server);
  const client = (host: string) => {
    const r = new Reactor({
      codec: pingPongCodec,
      transport: network.transport(host),
      timers: scheduler,
    });
    reactors.push(r);
    return r;
  };
  /** Resolves after `ms` of simulated time. */
  const elapse = (ms: number) => new Promise<void>((r) => scheduler.setTimeout(r, ms));
  /** Sends a ping from `from` to `peer` every `interval` ms of simulated time until stopped. */
  const pinger = (from: Reactor<PingPong>, peer: PeerId, interval: number) => {
    let n = 0;
    let handle: unknown;
    const tick = () => {
      from.send(peer, ping(n++));
      handle = scheduler.setTimeout(tick, interval);
    };
    tick();
    return () => scheduler.clearTimeout(handle);
  };
  return { scheduler, network, server, client, elapse, pinger };
}

describe('`idleTimeout` (simulated network, simulated time)', () => {
  it('drops a black-holed peer within the timeout, and never an active one', async () => {
    const { scheduler, network, server, client, elapse, pinger } = world(5000);
    // Everything `quiet` sends after its first ping is swallowed by the network (a stall).
    network.link({ from: 'quiet' }, { faults: [{ kind: 'stall', afterBytes: 12 }] });
    const [address] = await server.listen('server:1');
    const events: Array<{ at: number; event: ReactorEvent<PingPong> }> = [];
    server.onEvent((event) => events.push({ at: scheduler.now(), event }));
    const quiet = client('quiet');
    const active = client('active');
    const quietPeer = await quiet.connect(address!);
    const activePeer = await active.connect(address!);
    const stopQuiet = pinger(quiet, quietPeer, 1000); // keeps sending, nothing gets through
    const stopActive = pinger(active, activePeer, 2000);
    await elapse(60_000);
    stopQuiet();
    stopActive();

    const lastFromQuiet = events.filter(
      (e) => e.event.type === 'message' && e.event.message.n === 0n && e.at < 100,
    );
    expect(lastFromQuiet.length).toBeGreaterThan(0);
    const gone = events.filter((e) => e.event.type === 'disconnected');
    expect(gone).toHaveLength(1);
    const { at, event } = gone[0]!;
    expect(event).toMatchObject({ type: 'disconnected', reason: { kind: 'idle' } });
    // The quiet one went within the timeout plus one housekeeping pass (5000 / 4 ms).
    expect(at).toBeGreaterThanOrEqual(5000);
    expect(at).toBeLessThanOrEqual(5000 + 1250 + 100);
    expect(server.peerCount).toBe(1);
    expect(server.stats().disconnects).toEqual({ idle: 1 });
    // The active one sent all along and is still there.
    expect(
      events.filter((e) => e.event.type === 'message' && e.at > 50_000).length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('does not count time during which the reactor paused reading (a full event queue)', async () => {
    const { server, client, elapse } = world(1000, 2);
    const [address] = await server.listen('server:1');
    const iterator = server.events(); // read by nobody for a while: reading pauses
    const c = client('c');
    const peer = await c.connect(address!);
    for (let i = 0; i < 10; i++) c.send(peer, ping(i));
    await elapse(10_000);
    expect(server.stats().pausedPeers).toBe(1);
    expect(server.peerCount).toBe(1);
    const seen: string[] = [];
    for (let i = 0; i < 11; i++) {
      const { value } = await iterator.next();
      seen.push((value as ReactorEvent<PingPong>).type);
    }
    expect(seen.filter((t) => t === 'message')).toHaveLength(10);
    // Reading resumed; now silent for good: idle after the timeout.
    const { value } = await iterator.next();
    expect(value).toMatchObject({ type: 'disconnected', reason: { kind: 'idle' } });
  });

  it('is off by default', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 2, scheduler });
    const server = new Reactor({
      codec: pingPongCodec,
      transport: network.transport('s'),
      timers: scheduler,
    });
    const c = new Reactor({
      codec: pingPongCodec,
      transport: network.transport('c'),
      timers: scheduler,
    });
    reactors.push(server, c);
    const [address] = await server.listen('s:1');
    await c.connect(address!);
    await new Promise<void>((r) => scheduler.setTimeout(r, 3_600_000)); // an hour of silence
    expect(server.peerCount).toBe(1);
  });

  it('refuses a negative or non-finite `idleTimeout` with `ERR_INVALID_CONFIG`', () => {
    const network = new MemoryNetwork();
    for (const idleTimeout of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      try {
        new Reactor({ codec: pingPongCodec, transport: network.transport(), idleTimeout });
        expect.unreachable();
      } catch (error) {
        expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_INVALID_CONFIG');
        expect((error as Error).message).toMatch(/^idleTimeout/);
      }
    }
  });
});
