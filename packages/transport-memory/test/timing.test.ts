import { memoryPair, realScheduler, VirtualScheduler } from '@peerlink/transport-memory';
import { describe, expect, it, vi } from 'vitest';
import { compareBytes, pattern, startBoth } from './helpers.js';

describe('VirtualScheduler', () => {
  it('runs deferred tasks first, then timers in time order, advancing simulated time', async () => {
    const s = new VirtualScheduler();
    const log: string[] = [];
    await new Promise<void>((resolve) => {
      s.setTimeout(() => log.push(`t30@${s.now()}`), 30);
      s.setTimeout(() => {
        log.push(`t10@${s.now()}`);
        s.defer(() => log.push(`d@${s.now()}`));
        s.setTimeout(() => {
          log.push(`t15@${s.now()}`);
        }, 5);
      }, 10);
      const cancelled = s.setTimeout(() => log.push('cancelled'), 20);
      s.clearTimeout(cancelled);
      s.setTimeout(() => resolve(), 40);
      s.defer(() => log.push(`first@${s.now()}`));
    });
    expect(log).toEqual(['first@0', 't10@10', 'd@10', 't15@15', 't30@30']);
    expect(s.now()).toBe(40);
    expect(s.pendingTimers).toBe(0);
  });
});

describe('latency and bandwidth', () => {
  it('delivers after `latency` ms of simulated time', async () => {
    const scheduler = new VirtualScheduler();
    const [a, b] = memoryPair({ scheduler, latency: 250, chunking: false });
    const [, rb] = startBoth(a, b);
    const times: number[] = [];
    rb.onChunk = () => times.push(scheduler.now());
    a.write(pattern(10));
    await rb.untilBytes(10);
    expect(times).toEqual([250]);
  });

  it('spreads bytes over time at `bandwidth` bytes per second, then adds `latency`', async () => {
    const scheduler = new VirtualScheduler();
    const [a, b] = memoryPair({
      scheduler,
      bandwidth: 1000,
      latency: 50,
      chunking: { min: 100, max: 100 },
      capacity: 1 << 20,
    });
    const [, rb] = startBoth(a, b);
    const times: number[] = [];
    rb.onChunk = () => times.push(scheduler.now());
    a.write(pattern(1000));
    await rb.untilBytes(1000);
    expect(times).toEqual([150, 250, 350, 450, 550, 650, 750, 850, 950, 1050]);
  });

  it('keeps order under `jitter` and delivers the end of stream after the last byte', async () => {
    const scheduler = new VirtualScheduler();
    const [a, b] = memoryPair({ scheduler, latency: 5, jitter: 40, seed: 77, capacity: 1 << 20 });
    const [, rb] = startBoth(a, b);
    const times: number[] = [];
    rb.onChunk = () => times.push(scheduler.now());
    for (let i = 0; i < 20; i++) {
      scheduler.setTimeout(() => {
        a.write(pattern(500, i));
        if (i === 19) a.end();
      }, i * 20);
    }
    await rb.untilEnded();
    expect(compareBytes(rb.bytes().subarray(500, 1000), pattern(500, 1))).toBe('equal');
    expect(rb.received).toBe(10_000);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(new Set(times).size).toBeGreaterThan(3);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(5);
  });

  it('with real timers, delivers after the latency has passed', async () => {
    const [a, b] = memoryPair({ latency: 20 });
    const [, rb] = startBoth(a, b);
    const start = performance.now();
    a.write(pattern(10));
    await rb.untilBytes(10);
    expect(performance.now() - start).toBeGreaterThanOrEqual(19);
    expect(compareBytes(rb.bytes(), pattern(10))).toBe('equal');
  });

  it('pauses under latency without losing bytes', async () => {
    const scheduler = new VirtualScheduler();
    const [a, b] = memoryPair({ scheduler, latency: 10, seed: 3, capacity: 1 << 20 });
    const [, rb] = startBoth(a, b);
    rb.onChunk = () => {
      b.pause();
      scheduler.setTimeout(() => b.resume(), 3);
    };
    a.write(pattern(4000));
    await rb.untilBytes(4000);
    expect(compareBytes(rb.bytes(), pattern(4000))).toBe('equal');
  });
});

describe('realScheduler', () => {
  it('yields with `setImmediate`, else a `MessageChannel`, else `setTimeout(0)`', async () => {
    const order: string[] = [];
    const check = async (label: string) => {
      const s = realScheduler();
      await new Promise<void>((resolve) =>
        s.defer(() => {
          order.push(label);
          resolve();
        }),
      );
    };
    await check('immediate');
    vi.stubGlobal('setImmediate', undefined);
    try {
      await check('channel');
      vi.stubGlobal('MessageChannel', undefined);
      await check('timeout');
    } finally {
      vi.unstubAllGlobals();
    }
    expect(order).toEqual(['immediate', 'channel', 'timeout']);
    expect(typeof setImmediate).toBe('function');
  });

  it('moves a pair along on the `MessageChannel` fallback', async () => {
    vi.stubGlobal('setImmediate', undefined);
    try {
      const [a, b] = memoryPair({ scheduler: realScheduler(), chunking: false, capacity: 1 << 20 });
      const [, rb] = startBoth(a, b);
      a.write(pattern(300_000));
      await rb.untilBytes(300_000);
      expect(compareBytes(rb.bytes(), pattern(300_000))).toBe('equal');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('progress of a large write', () => {
  it('reports `onProgress` while a slow link carries a large write, then `onDrain` once it has left', async () => {
    const scheduler = new VirtualScheduler();
    // 1 MiB/s, 64 KiB in flight before `write` says wait: a 4 MiB write takes 4 s to cross.
    const [a, b] = memoryPair({
      scheduler,
      bandwidth: 1 << 20,
      capacity: 65536,
      chunking: { min: 16384, max: 16384 },
    });
    const [ra, rb] = startBoth(a, b);
    const progress: number[] = [];
    ra.onProgress = () => void progress.push(scheduler.now());
    const message = pattern(4 << 20);
    expect(a.write(message)).toBe(false);
    await rb.untilBytes(message.length);
    await new Promise<void>((resolve) => {
      if (ra.drains > 0) resolve();
      else ra.onDrained = resolve;
    });
    expect(compareBytes(rb.bytes(), message)).toBe('equal');
    // Progress came all along the 4 s, never more than a chunk's time (16 ms) apart.
    expect(progress.length).toBeGreaterThan(100);
    let last = 0;
    for (const t of progress) {
      expect(t - last).toBeLessThanOrEqual(20);
      last = t;
    }
    expect(progress[progress.length - 1]).toBeGreaterThan(3900);
    expect(ra.drains).toBe(1);
  });
});
