import { memoryPair } from '@peerlink/transport-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, pattern, startBoth, turns } from './helpers.js';

describe('faults on a pair', () => {
  it('`reset` after `afterBytes`: the reader gets exactly that many bytes, then both sides see `ECONNRESET`', async () => {
    const [a, b] = memoryPair({ seed: 2, faults: [{ kind: 'reset', afterBytes: 1234 }] });
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(5000));
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(rb.received).toBe(1234);
    expect(compareBytes(rb.bytes(), pattern(1234))).toBe('equal');
    expect(rb.closeError).toMatchObject({ code: 'ECONNRESET' });
    expect(ra.closeError).toMatchObject({ code: 'ECONNRESET' });
    expect(rb.ends + ra.ends).toBe(0);
  });

  it('`reset` with `afterBytes: 0` strikes when the first byte would be delivered', async () => {
    const [a, b] = memoryPair({ faults: [{ kind: 'reset' }] });
    const [ra, rb] = startBoth(a, b);
    b.write(pattern(10)); // the other direction is not watched
    await ra.untilBytes(10);
    a.write(pattern(1));
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(rb.received).toBe(0);
    expect(rb.closeError).toMatchObject({ code: 'ECONNRESET' });
  });

  it('`stall` after `afterBytes`: delivers that many, then accepts bytes and delivers none', async () => {
    const [a, b] = memoryPair({ capacity: 1000, faults: [{ kind: 'stall', afterBytes: 300 }] });
    const [ra, rb] = startBoth(a, b);
    let accepted = 0;
    let more = true;
    while (more && accepted < 100_000) {
      more = a.write(pattern(100));
      accepted += 100;
    }
    await rb.untilBytes(300);
    a.end();
    await turns();
    expect(rb.received).toBe(300);
    expect(rb.ends).toBe(0);
    expect(ra.drains).toBe(0);
    expect(accepted).toBeGreaterThanOrEqual(1000);
    // the other direction still flows
    b.write(pattern(50));
    await ra.untilBytes(50);
    a.reset();
    await rb.untilClosed();
    expect(rb.closeError).toMatchObject({ code: 'ECONNRESET' });
  });

  it('`half-close` after `afterBytes`: the reader sees that many bytes then onEnd; the writer is not told', async () => {
    const [a, b] = memoryPair({ seed: 8, faults: [{ kind: 'half-close', afterBytes: 500 }] });
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(2000));
    await rb.untilEnded();
    expect(rb.received).toBe(500);
    expect(compareBytes(rb.bytes(), pattern(500))).toBe('equal');
    expect(a.write(pattern(10))).toBe(true); // silently dropped
    expect(ra.events).toEqual([]);
    b.write(pattern(70));
    await ra.untilBytes(70);
    b.end();
    await ra.untilEnded();
    a.end();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.closeError).toBeUndefined();
    expect(rb.closeError).toBeUndefined();
    expect(rb.received).toBe(500);
  });

  it("applies a `direction: 'b-to-a'` fault to what b writes only", async () => {
    const [a, b] = memoryPair({
      faults: [{ kind: 'half-close', afterBytes: 10, direction: 'b-to-a' }],
    });
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(100));
    b.write(pattern(100));
    await Promise.all([rb.untilBytes(100), ra.untilEnded()]);
    expect(ra.received).toBe(10);
    expect(rb.ends).toBe(0);
    a.close();
    b.close();
  });

  it("applies a `direction: 'both'` fault to each direction on its own counter", async () => {
    const [a, b] = memoryPair({ faults: [{ kind: 'stall', afterBytes: 20, direction: 'both' }] });
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(100));
    b.write(pattern(100));
    await Promise.all([ra.untilBytes(20), rb.untilBytes(20)]);
    await turns();
    expect([ra.received, rb.received]).toEqual([20, 20]);
    a.close();
    b.close();
    await Promise.all([ra.untilClosed()]);
  });
});

describe('faults: properties', () => {
  it('delivers exactly the first `afterBytes` bytes (or all, if fewer were written) under any fault and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.constantFrom('reset' as const, 'stall' as const, 'half-close' as const),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 6 }),
        async (seed, kind, afterBytes, sizes) => {
          const [a, b] = memoryPair({ seed, capacity: 1 << 20, faults: [{ kind, afterBytes }] });
          const [ra, rb] = startBoth(a, b);
          const total = sizes.reduce((x, y) => x + y, 0);
          const source = pattern(total, seed & 0xff);
          let offset = 0;
          for (const n of sizes) {
            a.write(source.subarray(offset, offset + n));
            offset += n;
          }
          const expected = Math.min(afterBytes, total);
          const struck = total >= afterBytes;
          if (kind === 'reset' && struck) await rb.untilClosed();
          else if (kind === 'half-close' && struck) await rb.untilEnded();
          else await rb.untilBytes(expected);
          await turns(2);
          expect(rb.received).toBe(expected);
          expect(compareBytes(rb.bytes(), source.subarray(0, expected))).toBe('equal');
          if (kind === 'reset') expect(rb.closes).toBe(struck ? 1 : 0);
          a.close();
          b.close();
          await Promise.all([ra.untilClosed(), rb.untilClosed()]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
