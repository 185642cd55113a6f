import { keep, Reactor, type Upgrade } from '@peerlink/reactor';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { keepCollector, type PingPong, ping, pingPongCodec } from './fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/**
 * Every deadline of a reactor given `timers` runs on them. Each test here waits a minute of
 * simulated time, which the scheduler covers in a moment: on the platform's `setTimeout` it
 * would take a real minute, past the test's timeout.
 */
describe('deadlines on injected `timers` (simulated network, simulated time)', () => {
  it('fails a connect that never completes after `connectTimeout` of simulated time', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 1, scheduler });
    network.link({ from: 'client' }, { faults: [{ kind: 'blackhole' }] });
    const client = new Reactor({
      codec: pingPongCodec,
      transport: network.transport('client'),
      timers: scheduler,
      config: { connectTimeout: 60_000 },
    });
    reactors.push(client);

    const started = scheduler.now();
    await expect(client.connect('server:1')).rejects.toMatchObject({
      code: 'ERR_CONNECT_TIMEOUT',
    });
    const took = scheduler.now() - started;
    expect(took).toBeGreaterThanOrEqual(60_000);
    expect(took).toBeLessThan(61_000);
    expect(client.stats().pendingConnects).toBe(0);
  });

  it('fails an upgrade that never finishes after `upgradeTimeout` of simulated time', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 2, scheduler });
    // Waits for a greeting that the server, which runs no upgrade, never sends.
    const waitForGreeting: Upgrade = async (context) => {
      await context.read(1);
    };
    const server = new Reactor({
      codec: pingPongCodec,
      transport: network.transport('server'),
      timers: scheduler,
    });
    const client = new Reactor({
      codec: pingPongCodec,
      transport: network.transport('client'),
      timers: scheduler,
      upgrade: waitForGreeting,
      upgradeTimeout: 60_000,
    });
    reactors.push(server, client);
    const [address] = await server.listen('server:1');

    const started = scheduler.now();
    await expect(client.connect(address!)).rejects.toMatchObject({
      code: 'ERR_UPGRADE_TIMEOUT',
    });
    const took = scheduler.now() - started;
    expect(took).toBeGreaterThanOrEqual(60_000);
    expect(took).toBeLessThan(61_000);
  });

  it("runs `keep()`'s waits on the reactor's timers when it is given none of its own", async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ seed: 4, scheduler });
    network.link({ from: 'client' }, { faults: [{ kind: 'refuse' }] });
    const client = new Reactor({
      codec: pingPongCodec,
      transport: network.transport('client'),
      timers: scheduler,
    });
    reactors.push(client);
    expect(client.timers).toBe(scheduler);

    const attemptsAt: number[] = [];
    const c = keepCollector();
    const kept = keep(client, 'server:1', {
      backoff: { initial: 60_000, jitter: 0 },
      onEvent: (e) => {
        if (e.type === 'attempt') attemptsAt.push(scheduler.now());
        c.onEvent(e);
      },
    });
    await c.nth((e) => e.type === 'attempt', 2);
    kept.unkeep();
    expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(60_000);
    expect(attemptsAt[1]! - attemptsAt[0]!).toBeLessThan(61_000);
  });

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
