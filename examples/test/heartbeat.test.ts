import { MemoryNetwork, type PeerId, Reactor, type ReactorEvent } from 'peerlink';
import { VirtualScheduler } from 'peerlink/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { heartbeat } from '../src/heartbeat.js';
import { type PingPong, pingPongCodec } from '../src/pingpong.js';

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('heartbeat example (simulated network, simulated time)', () => {
  it('keeps quiet peers connected, and drops one whose pings stop arriving within 3 intervals', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 4, scheduler });
    // What `lost` sends after its first two pings never arrives (a black hole on the way).
    network.link({ from: 'lost' }, { faults: [{ kind: 'stall', afterBytes: 24 }] });
    const node = (host: string) => {
      const reactor = new Reactor({
        codec: pingPongCodec,
        transport: network.transport(host),
        timers: scheduler,
        idleTimeout: 3000,
      });
      stops.push(() => reactor.shutdown({ flushTimeout: 0 }));
      stops.push(heartbeat(reactor, { interval: 1000, timers: scheduler }));
      return reactor;
    };
    const hub = node('hub');
    const [address] = await hub.listen('hub:1');
    const events: Array<{ at: number; event: ReactorEvent<PingPong> }> = [];
    hub.onEvent((event) => events.push({ at: scheduler.now(), event }));
    const quiet = node('quiet');
    const lost = node('lost');
    const quietLeft: unknown[] = [];
    quiet.onEvent((e) => {
      if (e.type === 'disconnected') quietLeft.push(e);
    });
    await quiet.connect(address!);
    await lost.connect(address!);
    await new Promise<void>((r) => scheduler.setTimeout(r, 60_000)); // a minute, no application traffic

    const gone = events.filter((e) => e.event.type === 'disconnected');
    expect(gone).toHaveLength(1);
    expect(gone[0]!.event).toMatchObject({ reason: { kind: 'idle' } });
    // Silent since its last bytes got through: gone 3 s later, within one housekeeping pass.
    const lostPeer = (gone[0]!.event as { peer: PeerId }).peer;
    const last = events
      .filter((e) => e.event.type === 'message' && e.event.peer === lostPeer)
      .at(-1)!;
    expect(gone[0]!.at - last.at).toBeGreaterThanOrEqual(3000);
    expect(gone[0]!.at - last.at).toBeLessThanOrEqual(3000 + 750);
    expect(hub.peerCount).toBe(1);
    expect(quietLeft).toEqual([]);
    // The quiet pair exchanged pings and pongs all along.
    const fromQuiet = events.filter((e) => e.event.type === 'message' && e.at > 55_000);
    expect(fromQuiet.map((e) => (e.event as { message: PingPong }).message.kind)).toContain('ping');
    expect(fromQuiet.map((e) => (e.event as { message: PingPong }).message.kind)).toContain('pong');
    const peers: PeerId[] = quiet.peerIds;
    expect(peers).toHaveLength(1);
  });

  it('listens beside the application, and its `stop()` removes only its own listener', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 5, scheduler });
    const reactor = (host: string) => {
      const r = new Reactor({
        codec: pingPongCodec,
        transport: network.transport(host),
        timers: scheduler,
      });
      stops.push(() => r.shutdown({ flushTimeout: 0 }));
      return r;
    };
    const server = reactor('server');
    const client = reactor('client');
    const stop = heartbeat(server, { interval: 60_000, timers: scheduler });
    const seen: string[] = []; // the application's own listener, on the same reactor
    server.onEvent((e) => e.type === 'message' && seen.push(`${e.message.kind} ${e.message.n}`));
    const pongs: bigint[] = [];
    client.onEvent(
      (e) => e.type === 'message' && e.message.kind === 'pong' && pongs.push(e.message.n),
    );
    const peer = await client.connect((await server.listen('server:1'))[0]!);
    const elapse = (ms: number) => new Promise<void>((r) => scheduler.setTimeout(r, ms));
    client.send(peer, { kind: 'ping', n: 1n });
    await elapse(1000);
    expect(pongs).toEqual([1n]); // the heartbeat answered
    stop();
    client.send(peer, { kind: 'ping', n: 2n });
    await elapse(1000);
    expect(pongs).toEqual([1n]); // no longer
    expect(seen).toEqual(['ping 1', 'ping 2']); // the application saw both
  });
});
