import { QueuePoints } from '@peerlink/queue-points';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

function lefts(q: QueuePoints): number[] {
  const out: number[] = [];
  for (let i = 0; q.leftAt(i) !== undefined; i++) out.push(q.leftAt(i)!);
  return out;
}

describe('QueuePoints', () => {
  test('tracks bytes left across points as the seed `queue_behavior` test does', () => {
    // The seed appends all three with `Instant::now()`; ours merges points appended with the same
    // time, so each gets its own time here.
    const q = new QueuePoints();
    q.append(10, 1);
    q.append(20, 2);
    q.append(30, 3);
    expect(lefts(q)).toEqual([10, 20, 30]);

    q.markWritten(5);
    expect(lefts(q)).toEqual([5, 20, 30]);

    q.markWritten(5);
    expect(lefts(q)).toEqual([20, 30]);

    q.markWritten(25);
    expect(lefts(q)).toEqual([25]);
    expect(q.length).toBe(1);

    q.markWritten(25);
    expect(q.oldest()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  test('`oldest` is the time of the oldest point with bytes left', () => {
    const q = new QueuePoints();
    expect(q.oldest()).toBeUndefined();
    q.append(4, 100);
    q.append(4, 200);
    expect(q.oldest()).toBe(100);
    q.markWritten(3);
    expect(q.oldest()).toBe(100);
    q.markWritten(1);
    expect(q.oldest()).toBe(200);
  });

  test('merges a point appended with the same time as the newest one', () => {
    const q = new QueuePoints();
    q.append(10, 5);
    q.append(20, 5);
    expect(lefts(q)).toEqual([30]);
    q.append(1, 6);
    q.append(2, 5);
    expect(lefts(q)).toEqual([30, 1, 2]);
  });

  test('`queuedBytes` is the sum of the bytes left', () => {
    const q = new QueuePoints();
    q.append(10, 1);
    q.append(20, 2);
    q.markWritten(15);
    expect(q.queuedBytes).toBe(15);
  });

  test('an append of 0 bytes adds no point', () => {
    const q = new QueuePoints();
    q.append(0, 1);
    expect(q.length).toBe(0);
    expect(q.oldest()).toBeUndefined();
  });

  test('`markWritten` beyond what is queued throws a RangeError and changes nothing', () => {
    const q = new QueuePoints();
    q.append(10, 1);
    q.append(20, 2);
    q.markWritten(4);
    expect(() => q.markWritten(27)).toThrow(RangeError);
    expect(lefts(q)).toEqual([6, 20]);
    expect(q.queuedBytes).toBe(26);
    expect(q.oldest()).toBe(1);
    expect(() => new QueuePoints().markWritten(1)).toThrow(RangeError);
  });

  test('`markWritten(0)` changes nothing', () => {
    const q = new QueuePoints();
    q.append(3, 1);
    q.markWritten(0);
    expect(lefts(q)).toEqual([3]);
  });

  test('rejects negative, fractional and NaN sizes with a RangeError', () => {
    const q = new QueuePoints();
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => q.append(bad, 0)).toThrow(RangeError);
      expect(() => q.markWritten(bad)).toThrow(RangeError);
    }
    expect(q.length).toBe(0);
  });

  test('`clear` drops every point', () => {
    const q = new QueuePoints();
    q.append(1, 1);
    q.append(2, 2);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.queuedBytes).toBe(0);
    expect(q.oldest()).toBeUndefined();
    q.append(5, 3);
    expect(lefts(q)).toEqual([5]);
  });

  test('`leftAt` answers undefined outside the held points', () => {
    const q = new QueuePoints();
    q.append(1, 1);
    expect(q.leftAt(-1)).toBeUndefined();
    expect(q.leftAt(1)).toBeUndefined();
  });

  test('`shrink` takes a quarter off the capacity per call, down to 8 points', () => {
    const q = new QueuePoints();
    for (let i = 0; i < 100; i++) q.append(1, i);
    expect(q.capacity).toBe(128);
    q.markWritten(100);
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      q.shrink();
      seen.push(q.capacity);
    }
    // 3 × floor(capacity / 4), as the Rust `Queue::shrink`.
    expect(seen).toEqual([96, 72, 54, 39, 27, 18, 12, 9, 8, 8, 8, 8]);
  });

  test('`shrink` never drops below the points held, and keeps them in order', () => {
    const q = new QueuePoints();
    for (let i = 0; i < 64; i++) q.append(1, i);
    q.markWritten(10);
    for (let i = 0; i < 64; i++) q.append(1, 100 + i);
    q.markWritten(60); // 58 left, wrapped around the ring
    for (let i = 0; i < 20; i++) q.shrink();
    expect(q.capacity).toBe(58);
    expect(q.length).toBe(58);
    expect(q.oldest()).toBe(106);
    q.append(1, 1000);
    expect(q.length).toBe(59);
  });

  test('behaves like a plain array of points under any sequence of operations', () => {
    type Op =
      | { op: 'append'; size: number; dt: number }
      | { op: 'write'; fraction: number }
      | { op: 'shrink' }
      | { op: 'clear' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          op: fc.constant('append' as const),
          size: fc.nat(50),
          dt: fc.nat(2),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          op: fc.constant('write' as const),
          fraction: fc.double({ min: 0, max: 1.2, noNaN: true }),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ op: 'shrink' as const }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new QueuePoints();
        let model: { time: number; left: number }[] = [];
        let now = 0;
        for (const o of ops) {
          if (o.op === 'append') {
            now += o.dt;
            q.append(o.size, now);
            if (o.size === 0) continue;
            const last = model[model.length - 1];
            if (last !== undefined && last.time === now) last.left += o.size;
            else model.push({ time: now, left: o.size });
          } else if (o.op === 'write') {
            const total = model.reduce((a, p) => a + p.left, 0);
            const n = Math.floor(total * o.fraction);
            if (n > total) {
              expect(() => q.markWritten(n)).toThrow(RangeError);
            } else {
              q.markWritten(n);
              let rest = n;
              while (rest > 0) {
                const head = model[0]!;
                const w = Math.min(rest, head.left);
                head.left -= w;
                rest -= w;
                if (head.left === 0) model.shift();
              }
            }
          } else if (o.op === 'shrink') {
            q.shrink();
          } else {
            q.clear();
            model = [];
          }
          expect(lefts(q)).toEqual(model.map((p) => p.left));
          expect(q.oldest()).toBe(model[0]?.time);
          expect(q.queuedBytes).toBe(model.reduce((a, p) => a + p.left, 0));
          // No arrays until the first point; from then on at least 8 slots.
          if (q.capacity > 0) expect(q.capacity).toBeGreaterThanOrEqual(Math.max(8, q.length));
          else expect(q.length).toBe(0);
        }
      }),
    );
  });
});

describe('QueuePoints memory', () => {
  test('allocates nothing until the first point is appended', () => {
    const q = new QueuePoints();
    expect(q.capacity).toBe(0);
    q.markWritten(0);
    q.shrink();
    expect(q.capacity).toBe(0);
    q.append(5, 1);
    expect(q.capacity).toBe(8);
  });
});
