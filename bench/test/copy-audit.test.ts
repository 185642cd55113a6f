import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs module of the bench, without declarations
import { rawCopyAudit } from '../core/copy-audit.mjs';

interface Audit {
  chunksFed: number;
  delivered: number;
  intact: number;
  copies: number;
  copiedBytes: number;
  bytesCopiedPerMessage: number;
}

const audit = (bodySize: number, messages: number, chunks: string): Audit =>
  rawCopyAudit({ bodySize, messages, chunks });

// Issue 15: the raw codec's receive path copies each byte at most once (a chunk's whole messages
// in one copy, not one allocation per message), not at all when the transport's chunks are the
// caller's to keep, and a large split message exactly once (assembled straight into a buffer of
// its declared size, allowed by the receive limit). Counts, not times.
describe('copy audit of the raw lengthPrefixed codec (bench/core/copy-audit.mjs)', () => {
  for (const chunks of ['fresh', 'shared']) {
    it(`1 KiB messages, ${chunks} chunks: one copy per chunk, each byte copied once`, () => {
      const r = audit(1020, 2000, chunks);
      expect(r.delivered).toBe(2000);
      expect(r.intact).toBe(2000); // every kept body survived the transport reusing its memory
      expect(r.copies).toBeLessThanOrEqual(r.chunksFed);
      expect(r.bytesCopiedPerMessage).toBe(1024);
    });

    it(`12-byte messages, ${chunks} chunks: no copy per message`, () => {
      const r = audit(12, 20_000, chunks);
      expect(r.intact).toBe(20_000);
      expect(r.copies).toBeLessThanOrEqual(2 * r.chunksFed);
      expect(r.bytesCopiedPerMessage).toBeLessThanOrEqual(16);
    });
  }

  it('chunks the caller owns (Node `data` chunks): no copy at all', () => {
    const r = audit(1020, 2000, 'owned');
    expect(r.intact).toBe(2000);
    expect(r.copiedBytes).toBe(0);
  });

  for (const chunks of ['fresh', 'shared', 'owned']) {
    it(`1 MiB messages split across 64 KiB ${chunks} chunks: each byte copied once`, () => {
      const r = audit(1024 * 1024 - 4, 4, chunks);
      expect(r.intact).toBe(4);
      // The whole frame (prefix and body), once: 1.0 × the message, not 1.25 × as before.
      expect(r.bytesCopiedPerMessage).toBe(1024 * 1024);
      expect(r.copies).toBeLessThanOrEqual(r.chunksFed + 4);
    });
  }
});
