import { PeerlinkError } from '@peerlink/codec';
import {
  backoffDelay,
  keep,
  type PeerId,
  Reactor,
  ReactorErrorCodes,
  resolveBackoff,
} from '@peerlink/reactor';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { keepCollector, smallCodec } from './fixtures.js';

const reactors: Reactor<Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

function simulated(seed = 1) {
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({ seed, scheduler });
  const node = (host: string) => {
    const r = new Reactor({ codec: smallCodec, transport: network.transport(host) });
    reactors.push(r);
    return r;
  };
  /** Resolves after `ms` of simulated time (a timer of the virtual scheduler, not a sleep). */
  const elapse = (ms: number) => new Promise<void>((r) => scheduler.setTimeout(r, ms));
  return { scheduler, network, node, elapse };
}

describe('backoff', () => {
  it('follows min(max, initial × factor^(k − 1)) × (1 − jitter × u)', () => {
    const b = resolveBackoff({ initial: 100, max: 1000, factor: 3, jitter: 0.5 });
    expect(backoffDelay(b, 1, 0)).toBe(100);
    expect(backoffDelay(b, 2, 0)).toBe(300);
    expect(backoffDelay(b, 3, 0.5)).toBe(900 * 0.75);
    expect(backoffDelay(b, 4, 0)).toBe(1000); // capped at `max`
    expect(backoffDelay(b, 50, 0.999)).toBeCloseTo(1000 * (1 - 0.4995));
  });

  it('defaults to 1 s doubling up to 60 s with half of each delay random, forever', () => {
    expect(resolveBackoff()).toEqual({
      initial: 1000,
      max: 60_000,
      factor: 2,
      jitter: 0.5,
      attempts: Number.POSITIVE_INFINITY,
    });
  });

  it('refuses invalid settings with `ERR_INVALID_ARGUMENT` naming the field', () => {
    for (const [options, field] of [
      [{ initial: -1 }, 'initial'],
      [{ initial: 10, max: 5 }, 'max'],
      [{ factor: 0.5 }, 'factor'],
      [{ jitter: 1.5 }, 'jitter'],
      [{ attempts: 0 }, 'attempts'],
      [{ attempts: 1.5 }, 'attempts'],
    ] as const) {
      try {
        resolveBackoff(options);
        expect.unreachable();
      } catch (error) {
        expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_INVALID_ARGUMENT');
        expect((error as Error).message).toContain(`backoff.${field}`);
      }
    }
  });
});

describe('keep (simulated network, simulated time)', () => {
  it('brings the peer back after a partition heals, waiting as the backoff formula says', async () => {
    const { scheduler, network, node, elapse } = simulated();
    const a = node('a');
    const b = node('b');
    const accepted: PeerId[] = [];
    a.onEvent((e) => {
      if (e.type === 'accepted') accepted.push(e.peer);
    });
    await a.listen('a:1');
    const randoms = [0.1, 0.9, 0.5, 0.3];
    let draw = 0;
    const attemptsAt: number[] = [];
    const c = keepCollector();
    const kept = keep(b, 'a:1', {
      backoff: { initial: 100, factor: 2, max: 1000, jitter: 0.5 },
      timers: scheduler,
      random: () => randoms[draw++]!,
      onEvent: (e) => {
        if (e.type === 'attempt') attemptsAt.push(scheduler.now());
        // The partition heals after the fourth failure: the fifth attempt gets through.
        if (e.type === 'retry' && e.failures === 4) network.link({ from: 'b' }, { faults: [] });
        c.onEvent(e);
      },
    });
    await c.nth((e) => e.type === 'connected');
    expect(kept.peer).toBeDefined();
    await elapse(20_000); // a stable connection (stableAfter: 10 s)

    // The partition: b's connects are refused, and the connection drops.
    network.link({ from: 'b' }, { faults: [{ kind: 'refuse' }] });
    const partitionAt = scheduler.now();
    a.disconnect(accepted[0]!);
    await c.nth((e) => e.type === 'connected', 2);

    const retries = c.events.filter((e) => e.type === 'retry');
    const expected = [100 * 0.95, 200 * 0.55, 400 * 0.75, 800 * 0.85];
    expect(retries.map((e) => e.delay)).toEqual(expected);
    expect(retries.map((e) => e.failures)).toEqual([1, 2, 3, 4]);
    for (const r of retries) expect((r.error as { code?: string }).code).toBe('ECONNREFUSED');
    // After the stable connection ended, the first attempt starts at once; then each waits.
    const after = attemptsAt.slice(1).map((t) => t - partitionAt);
    expect(after).toEqual([0, 95, 95 + 110, 95 + 110 + 300, 95 + 110 + 300 + 680]);
    expect(c.events.map((e) => e.type)).toEqual([
      'attempt',
      'connected',
      'disconnected',
      'attempt',
      ...['retry', 'attempt', 'retry', 'attempt', 'retry', 'attempt', 'retry', 'attempt'],
      'connected',
    ]);
    const second = c.events.at(-1)!;
    expect(second).toMatchObject({ type: 'connected', attempt: 5 });
    expect(kept.failures).toBe(4);
    await elapse(10_000);
    expect(kept.failures).toBe(0); // reset once the new connection is stable
    expect(a.peerCount).toBe(1);
    kept.unkeep();
  });

  it('gives up after `attempts` consecutive failures', async () => {
    const { scheduler, node } = simulated();
    const b = node('b');
    const c = keepCollector();
    const kept = keep(b, 'nobody:1', {
      backoff: { initial: 10, attempts: 3, jitter: 0 },
      timers: scheduler,
      onEvent: c.onEvent,
    });
    const end = await kept.done;
    expect(end).toMatchObject({ type: 'gave-up', failures: 3 });
    expect((end as unknown as { error: { code: string } }).error.code).toBe('ECONNREFUSED');
    expect(c.events.map((e) => e.type)).toEqual([
      'attempt',
      'retry',
      'attempt',
      'retry',
      'attempt',
      'gave-up',
    ]);
    expect(c.events.filter((e) => e.type === 'retry').map((e) => e.delay)).toEqual([10, 20]);
    expect(kept.stopped).toBe(true);
    expect(scheduler.pendingTimers).toBe(0);
  });

  it('counts a connection that ends before `stableAfter` as a failed attempt', async () => {
    const { scheduler, node } = simulated();
    const a = node('a');
    const b = node('b');
    a.onEvent((e) => {
      if (e.type === 'accepted') a.disconnect(e.peer); // accepts, then hangs up at once
    });
    await a.listen('a:1');
    const c = keepCollector();
    const kept = keep(b, 'a:1', {
      backoff: { initial: 50, attempts: 3, jitter: 0 },
      stableAfter: 1000,
      timers: scheduler,
      onEvent: c.onEvent,
    });
    expect(await kept.done).toMatchObject({ type: 'gave-up', failures: 3, error: undefined });
    expect(c.events.filter((e) => e.type === 'connected')).toHaveLength(3);
    expect(c.events.filter((e) => e.type === 'retry').map((e) => e.delay)).toEqual([50, 100]);
  });

  it('stops on `unkeep()` while waiting: no more attempts, the wait cancelled', async () => {
    const { scheduler, node } = simulated();
    const b = node('b');
    const c = keepCollector();
    const kept = keep(b, 'nobody:1', {
      backoff: { initial: 1000 },
      timers: scheduler,
      onEvent: c.onEvent,
    });
    await c.nth((e) => e.type === 'retry');
    kept.unkeep();
    kept.unkeep(); // idempotent
    expect(await kept.done).toEqual({ type: 'stopped', target: 'nobody:1', reason: 'unkeep' });
    expect(scheduler.pendingTimers).toBe(0);
    expect(c.events.filter((e) => e.type === 'attempt')).toHaveLength(1);
  });

  it('stops when its `signal` aborts, cancelling the attempt in progress', async () => {
    const { scheduler, network, node } = simulated();
    network.link({ to: 'hole' }, { faults: [{ kind: 'blackhole' }] });
    const b = node('b');
    const failed: unknown[] = [];
    b.onEvent((e) => {
      if (e.type === 'connect-failed') failed.push(e.error);
    });
    const controller = new AbortController();
    const c = keepCollector();
    const kept = keep(b, 'hole:1', {
      signal: controller.signal,
      timers: scheduler,
      onEvent: c.onEvent,
    });
    expect(c.events.map((e) => e.type)).toEqual(['attempt']); // the first attempt starts at once
    await new Promise((r) => setImmediate(r));
    expect(b.stats().pendingConnects).toBe(1);
    controller.abort();
    expect(await kept.done).toMatchObject({ type: 'stopped', reason: 'aborted' });
    await new Promise((r) => setImmediate(r));
    expect(b.stats().pendingConnects).toBe(0);
    expect(network.stats().pendingConnects).toBe(0);
    expect(failed).toMatchObject([{ code: ReactorErrorCodes.ABORTED }]);
  });

  it('does not start with an already aborted `signal`', async () => {
    const { scheduler, node } = simulated();
    const b = node('b');
    const c = keepCollector();
    const kept = keep(b, 'a:1', {
      signal: AbortSignal.abort(),
      timers: scheduler,
      onEvent: c.onEvent,
    });
    expect(await kept.done).toMatchObject({ type: 'stopped', reason: 'aborted' });
    expect(c.events.map((e) => e.type)).toEqual(['stopped']);
  });

  it('stops when the reactor shuts down', async () => {
    const { scheduler, node } = simulated();
    const a = node('a');
    const b = node('b');
    await a.listen('a:1');
    const c = keepCollector();
    const kept = keep(b, 'a:1', { timers: scheduler, onEvent: c.onEvent });
    await c.nth((e) => e.type === 'connected');
    await b.shutdown({ flushTimeout: 0 });
    expect(await kept.done).toMatchObject({ type: 'stopped', reason: 'shutdown' });
  });

  it('leaves the current connection up on `unkeep()`', async () => {
    const { scheduler, node } = simulated();
    const a = node('a');
    const b = node('b');
    await a.listen('a:1');
    const c = keepCollector();
    const kept = keep(b, 'a:1', { timers: scheduler, onEvent: c.onEvent });
    const connected = await c.nth((e) => e.type === 'connected');
    kept.unkeep();
    expect(b.peerIds).toEqual([(connected as { peer: PeerId }).peer]);
  });
});
