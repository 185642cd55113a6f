import { PeerlinkError } from '@peerlink/stream';
import { memoryPair } from '@peerlink/transport-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, concat, pattern, Recorder, startBoth, turns } from './helpers.js';

describe('memoryPair: delivery', () => {
  it('delivers bytes intact and in order under any seed, chunking and write sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 65536 }),
        async (seed, writes, max) => {
          const [a, b] = memoryPair({ seed, chunking: { min: 1, max } });
          const [, rb] = startBoth(a, b);
          for (const w of writes) a.write(w);
          a.end();
          await rb.untilEnded();
          expect(compareBytes(rb.bytes(), concat(writes))).toBe('equal');
          for (const size of rb.sizes()) {
            expect(size).toBeGreaterThan(0);
            expect(size).toBeLessThanOrEqual(max);
          }
          a.close();
          b.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('cuts writes into pieces of random size, down to one byte', async () => {
    const [a, b] = memoryPair({ seed: 42 });
    const [, rb] = startBoth(a, b);
    for (let i = 0; i < 20; i++) a.write(pattern(2000, i));
    await rb.untilBytes(40_000);
    const sizes = rb.sizes();
    expect(sizes.length).toBeGreaterThan(20);
    expect(Math.min(...sizes)).toBeLessThanOrEqual(4);
    expect(new Set(sizes).size).toBeGreaterThan(5);
  });

  it('delivers `chunking: { max: 1 }` one byte per onData', async () => {
    const [a, b] = memoryPair({ chunking: { max: 1 } });
    const [, rb] = startBoth(a, b);
    a.write(pattern(300));
    await rb.untilBytes(300);
    expect(rb.sizes()).toEqual(new Array(300).fill(1));
    expect(rb.bytes()).toEqual(pattern(300));
  });

  it('delivers each write whole with `chunking: false`, split at 64 KiB', async () => {
    const [a, b] = memoryPair({ chunking: false, capacity: 1 << 20 });
    const [, rb] = startBoth(a, b);
    a.write(pattern(10));
    a.write(pattern(100_000));
    a.write(pattern(20));
    await rb.untilBytes(100_030);
    expect(rb.sizes()).toEqual([10, 65536, 100_000 - 65536, 20]);
  });

  it('never spans two writes in one chunk and never exceeds 64 KiB', async () => {
    const [a, b] = memoryPair({ seed: 3, capacity: 1 << 22 });
    const [, rb] = startBoth(a, b);
    const writes = [5, 70_000, 1, 200_000, 3];
    for (const n of writes) a.write(pattern(n));
    const total = writes.reduce((x, y) => x + y, 0);
    await rb.untilBytes(total);
    let offset = 0;
    const boundaries = new Set(writes.map((n) => (offset += n)));
    let position = 0;
    for (const size of rb.sizes()) {
      expect(size).toBeLessThanOrEqual(65536);
      const next = position + size;
      for (const boundary of boundaries) {
        expect(boundary > position && boundary < next).toBe(false);
      }
      position = next;
    }
  });

  it('cuts the same writes into the same chunks for the same `seed`, and differently for another', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const [a, b] = memoryPair({ seed });
      const [, rb] = startBoth(a, b);
      for (let i = 0; i < 10; i++) a.write(pattern(5000));
      await rb.untilBytes(50_000);
      return rb.sizes();
    };
    const first = await run(11);
    expect(await run(11)).toEqual(first);
    expect(await run(12)).not.toEqual(first);
  });

  it('delivers asynchronously, never from inside write', () => {
    const [a, b] = memoryPair();
    const [, rb] = startBoth(a, b);
    a.write(pattern(10));
    expect(rb.received).toBe(0);
  });

  it('holds bytes written before start until the reader starts', async () => {
    const [a, b] = memoryPair();
    a.start(new Recorder());
    a.write(pattern(100));
    await turns();
    const rb = new Recorder();
    b.start(rb);
    await rb.untilBytes(100);
    expect(rb.bytes()).toEqual(pattern(100));
  });

  it('throws `ERR_ALREADY_STARTED` when started twice', () => {
    const [a] = memoryPair();
    a.start(new Recorder());
    expect(() => a.start(new Recorder())).toThrow(
      expect.objectContaining({ code: 'ERR_ALREADY_STARTED' }),
    );
  });

  it('reports its addresses, `addresses` overriding the defaults', () => {
    const [a, b] = memoryPair();
    expect([a.localAddress, a.remoteAddress]).toEqual(['memory-a:1', 'memory-b:1']);
    expect([b.localAddress, b.remoteAddress]).toEqual(['memory-b:1', 'memory-a:1']);
    const [c, d] = memoryPair({ addresses: ['x:5', 'y:6'] });
    expect(c.remoteAddress).toBe('y:6');
    expect(d.remoteAddress).toBe('x:5');
  });

  it('refuses invalid options with `ERR_INVALID_CONFIG` naming the field', () => {
    const cases: [Parameters<typeof memoryPair>[0], string][] = [
      [{ capacity: 0 }, 'capacity'],
      [{ chunking: { min: 0 } }, 'chunking.min'],
      [{ chunking: { max: 65537 } }, 'chunking.max'],
      [{ chunking: { min: 10, max: 5 } }, 'chunking.min'],
      [{ latency: -1 }, 'latency'],
      [{ bandwidth: 0 }, 'bandwidth'],
      [{ faults: [{ kind: 'stall', afterBytes: -1 }] }, 'faults[0].afterBytes'],
      [{ faults: [{ kind: 'refuse' }] }, 'faults[0].kind'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        memoryPair(options);
      } catch (error) {
        caught = error;
      }
      expect(PeerlinkError.isInstance(caught)).toBe(true);
      expect((caught as PeerlinkError).code).toBe('ERR_INVALID_CONFIG');
      expect((caught as PeerlinkError).message.startsWith(`${field}:`)).toBe(true);
    }
  });

  it('hands each chunk from a reused, overwritten buffer with `scribble`', async () => {
    const [a, b] = memoryPair({ scribble: true, chunking: false });
    const rb = new Recorder();
    const views: Uint8Array[] = [];
    rb.onChunk = (chunk) => views.push(chunk);
    a.start(new Recorder());
    b.start(rb);
    a.write(pattern(50));
    a.write(pattern(50, 1));
    await rb.untilBytes(100);
    expect(rb.bytes()).toEqual(concat([pattern(50), pattern(50, 1)]));
    expect(views[0]!.buffer).toBe(views[1]!.buffer);
    expect(views[0]).not.toEqual(pattern(50));
  });
});

describe('memoryPair: backpressure', () => {
  it('returns false from write once `capacity` bytes are in flight, true below it', () => {
    const [a, b] = memoryPair({ capacity: 100 });
    startBoth(a, b);
    expect(a.write(pattern(60))).toBe(true);
    expect(a.write(pattern(39))).toBe(true);
    expect(a.write(pattern(1))).toBe(false);
    expect(a.write(pattern(1))).toBe(false);
  });

  it('fires onDrain once the reader has consumed enough, then write returns true', async () => {
    const [a, b] = memoryPair({ capacity: 100, chunking: { max: 7 } });
    const [ra, rb] = startBoth(a, b);
    expect(a.write(pattern(150))).toBe(false);
    await ra.untilDrained();
    expect(rb.received).toBeGreaterThanOrEqual(100);
    expect(a.write(pattern(10))).toBe(true);
    await rb.untilBytes(160);
    expect(ra.drains).toBe(1);
  });

  it('holds the writer back while the reader is paused: no drain until it resumes', async () => {
    const [a, b] = memoryPair({ capacity: 64 });
    const [ra, rb] = startBoth(a, b);
    b.pause();
    expect(a.write(pattern(64))).toBe(false);
    await turns();
    expect(ra.drains).toBe(0);
    expect(rb.received).toBe(0);
    b.resume();
    await ra.untilDrained();
    await rb.untilBytes(64);
    expect(rb.bytes()).toEqual(pattern(64));
  });

  it('keeps a flood in order when the writer waits for every onDrain', async () => {
    const [a, b] = memoryPair({ capacity: 1000, seed: 9 });
    const [ra, rb] = startBoth(a, b);
    const total = 200_000;
    const source = pattern(total);
    let offset = 0;
    const pump = (): void => {
      while (offset < total) {
        const n = Math.min(333, total - offset);
        const ok = a.write(source.subarray(offset, offset + n));
        offset += n;
        if (!ok) return;
      }
    };
    ra.onDrained = pump;
    pump();
    await rb.untilBytes(total);
    expect(compareBytes(rb.bytes(), source)).toBe('equal');
    expect(ra.drains).toBeGreaterThan(10);
  });
});

describe('memoryPair: pause and resume', () => {
  it('stops delivery on pause and restarts on resume, losing and reordering nothing', async () => {
    const [a, b] = memoryPair({ seed: 5, chunking: { max: 10 }, capacity: 1 << 20 });
    const [, rb] = startBoth(a, b);
    const source = pattern(5000);
    let pausedAt = -1;
    rb.onChunk = () => {
      if (pausedAt < 0 && rb.received >= 1000) {
        b.pause();
        pausedAt = rb.received;
      }
    };
    a.write(source);
    await rb.untilBytes(1000);
    await turns();
    expect(rb.received).toBe(pausedAt);
    b.pause(); // idempotent
    b.resume();
    b.resume(); // idempotent
    await rb.untilBytes(5000);
    expect(compareBytes(rb.bytes(), source)).toBe('equal');
  });

  it('holds the end of stream while paused', async () => {
    const [a, b] = memoryPair();
    const [, rb] = startBoth(a, b);
    b.pause();
    a.write(pattern(10));
    a.end();
    await turns();
    expect(rb.events).toEqual([]);
    b.resume();
    await rb.untilEnded();
    expect(rb.received).toBe(10);
    expect(rb.events.at(-1)).toEqual({ type: 'end' });
  });

  it('repeated pause and resume under random chunking never lose or reorder bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 50 }), async (seed, every) => {
        const [a, b] = memoryPair({ seed, capacity: 1 << 20 });
        const [, rb] = startBoth(a, b);
        let calls = 0;
        rb.onChunk = () => {
          if (++calls % every === 0) {
            b.pause();
            queueMicrotask(() => b.resume());
          }
        };
        const source = pattern(20_000, seed & 0xff);
        a.write(source.subarray(0, 7000));
        a.write(source.subarray(7000));
        await rb.untilBytes(20_000);
        expect(compareBytes(rb.bytes(), source)).toBe('equal');
      }),
      { numRuns: 30 },
    );
  });
});

describe('memoryPair: end, reset and close', () => {
  it('half-closes on end: the reader sees all data then onEnd, and can still write back', async () => {
    const [a, b] = memoryPair({ seed: 1 });
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(1000));
    a.end();
    expect(a.write(pattern(1))).toBe(false);
    await rb.untilEnded();
    expect(rb.received).toBe(1000);
    expect(rb.events.at(-1)).toEqual({ type: 'end' });
    expect(rb.closes).toBe(0);
    expect(b.write(pattern(500))).toBe(true);
    await ra.untilBytes(500);
    expect(ra.closes).toBe(0);
    b.end();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.events.slice(-2)).toEqual([
      { type: 'end' },
      { type: 'close', code: undefined, error: undefined },
    ]);
    expect(rb.closeError).toBeUndefined();
  });

  it('closes both sides cleanly when both end at once', async () => {
    const [a, b] = memoryPair();
    const [ra, rb] = startBoth(a, b);
    a.end();
    b.end();
    a.end(); // idempotent
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.events).toEqual([
      { type: 'end' },
      { type: 'close', code: undefined, error: undefined },
    ]);
    expect(rb.events).toEqual([
      { type: 'end' },
      { type: 'close', code: undefined, error: undefined },
    ]);
  });

  it('resets: the other side gets onClose with `ECONNRESET`, and no onEnd', async () => {
    const [a, b] = memoryPair();
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(100));
    a.reset();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.closeError).toBeUndefined();
    expect(rb.closeError).toMatchObject({ code: 'ECONNRESET' });
    expect(PeerlinkError.isInstance(rb.closeError)).toBe(true);
    expect(rb.ends).toBe(0);
    expect(rb.received).toBe(0);
    expect(a.write(pattern(1))).toBe(false);
  });

  it('closes: the other side sees the data already written, end of stream, then close', async () => {
    const [a, b] = memoryPair({ seed: 4 });
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(3000));
    a.close();
    a.close(); // idempotent
    expect(a.write(pattern(1))).toBe(false);
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.events).toEqual([{ type: 'close', code: undefined, error: undefined }]);
    expect(rb.bytes()).toEqual(pattern(3000));
    expect(rb.events.slice(-2)).toEqual([
      { type: 'end' },
      { type: 'close', code: undefined, error: undefined },
    ]);
  });

  it('drops what the other side writes after a close', async () => {
    const [a, b] = memoryPair();
    const [ra, rb] = startBoth(a, b);
    a.close();
    b.write(pattern(10));
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.received).toBe(0);
  });

  it('calls onClose exactly once per side whatever races, and nothing after it', async () => {
    const actions = ['end', 'reset', 'close', 'write'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom(...actions)), {
          minLength: 1,
          maxLength: 8,
        }),
        async (steps) => {
          const [a, b] = memoryPair();
          const [ra, rb] = startBoth(a, b);
          for (const [onA, action] of steps) {
            const side = onA ? a : b;
            if (action === 'write') side.write(pattern(20));
            else side[action]();
          }
          a.close();
          b.close();
          await Promise.all([ra.untilClosed(), rb.untilClosed()]);
          await turns(3);
          for (const r of [ra, rb]) {
            expect(r.closes).toBe(1);
            expect(r.events.at(-1)?.type).toBe('close');
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reports a close that happened before start as soon as the handler is attached', async () => {
    const [a, b] = memoryPair();
    a.start(new Recorder());
    a.reset();
    const rb = new Recorder();
    b.start(rb);
    await rb.untilClosed();
    expect(rb.events).toEqual([
      { type: 'close', code: 'ECONNRESET', error: expect.objectContaining({ code: 'ECONNRESET' }) },
    ]);
  });

  it('makes no handler call from inside a method call, even from inside a handler', async () => {
    const [a, b] = memoryPair();
    const ra = new Recorder();
    const rb = new Recorder();
    let depth = 0;
    let overlapped = false;
    const wrap = (r: Recorder): Recorder => {
      for (const key of ['onData', 'onDrain', 'onEnd', 'onClose'] as const) {
        const original = r[key].bind(r) as (arg?: never) => void;
        (r as unknown as Record<string, unknown>)[key] = (arg?: never) => {
          if (depth > 0) overlapped = true;
          depth++;
          try {
            original(arg);
          } finally {
            depth--;
          }
        };
      }
      return r;
    };
    rb.onChunk = (chunk) => {
      b.write(chunk.slice());
      b.close();
    };
    a.start(wrap(ra));
    b.start(wrap(rb));
    a.write(pattern(10));
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(overlapped).toBe(false);
  });
});

describe('memoryPair: scheduling', () => {
  it('lets macrotasks run while a pair moves a large transfer', async () => {
    const [a, b] = memoryPair({ chunking: false, capacity: 1 << 24 });
    const [, rb] = startBoth(a, b);
    const total = 8 << 20;
    a.write(new Uint8Array(total));
    const seenByImmediate = await new Promise<number>((resolve) =>
      setImmediate(() => resolve(rb.received)),
    );
    expect(seenByImmediate).toBeLessThan(total);
    await rb.untilBytes(total);
  });

  it('does not starve macrotasks with an endless ping-pong', async () => {
    const [a, b] = memoryPair({ chunking: false });
    const [ra, rb] = startBoth(a, b);
    let exchanges = 0;
    let running = true;
    ra.onChunk = (chunk) => {
      exchanges++;
      if (running) a.write(chunk.slice());
    };
    rb.onChunk = (chunk) => {
      if (running) b.write(chunk.slice());
    };
    a.write(pattern(12));
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    running = false;
    expect(exchanges).toBeGreaterThan(0);
    a.close();
    b.close();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
  });

  it('interleaves two busy pairs', async () => {
    const [a1, b1] = memoryPair({ chunking: false, capacity: 1 << 24 });
    const [a2, b2] = memoryPair({ chunking: false, capacity: 1 << 24 });
    const [, r1] = startBoth(a1, b1);
    const [, r2] = startBoth(a2, b2);
    const total = 4 << 20;
    a1.write(new Uint8Array(total));
    a2.write(new Uint8Array(total));
    let secondWhenFirstDone = -1;
    r1.onChunk = () => {
      if (r1.received === total) secondWhenFirstDone = r2.received;
    };
    await Promise.all([r1.untilBytes(total), r2.untilBytes(total)]);
    expect(secondWhenFirstDone).toBeGreaterThan(0);
  });
});
