import { Reactor } from '@peerlink/reactor';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from './fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

describe('shutdown on injected `timers` (simulated network, simulated time)', () => {
  it('gives up flushing a closing peer after `flushTimeout` of simulated time', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 3, scheduler });
    // Nothing the client sends after its first message gets through, not even its end: its peer
    // stays closing until `flushTimeout` (or, much later, `txTimeout`) gives up on it.
    network.link({ from: 'client' }, { faults: [{ kind: 'stall', afterBytes: 12 }] });
    const options = {
      codec: pingPongCodec,
      timers: scheduler,
      config: { txTimeout: 600_000 },
    };
    const server = new Reactor({ ...options, transport: network.transport('server') });
    const client = new Reactor({ ...options, transport: network.transport('client') });
    reactors.push(server, client);
    const [address] = await server.listen('server:1');
    const peer = await client.connect(address!);
    for (let i = 0; i < 100; i++) client.send(peer, ping(i));

    const started = scheduler.now();
    await client.shutdown({ flushTimeout: 5000 });
    const took = scheduler.now() - started;
    // On the simulated clock: at the deadline, not at `txTimeout` (the platform's `setTimeout`
    // would let simulated time run on to the housekeeping's `txTimeout` reset first).
    expect(took).toBeGreaterThanOrEqual(5000);
    expect(took).toBeLessThan(6000);
    expect(client.stats().closing).toBe(0);
  });
});
