import { ByteSink } from 'peerlink';
import { describe, expect, it } from 'vitest';
import { gossipCodec, meshLinks, runMesh } from '../src/gossip.js';

describe('mesh example', () => {
  it('links every node into one connected mesh without duplicate links', () => {
    for (const nodes of [2, 3, 5, 8, 16]) {
      const links = meshLinks(nodes, 3);
      const keys = links.map(([a, b]) => (a < b ? `${a}-${b}` : `${b}-${a}`));
      expect(new Set(keys).size).toBe(keys.length);
      const reached = new Set([0]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [a, b] of links) {
          if (reached.has(a) !== reached.has(b)) {
            reached.add(a).add(b);
            grew = true;
          }
        }
      }
      expect(reached.size).toBe(nodes);
    }
  });

  it('delivers every gossip message to every node over TCP', async () => {
    const seen: number[] = [];
    const result = await runMesh({
      nodes: 6,
      links: 2,
      messages: 4,
      onMessage: (m) => seen.push(m.id),
    });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(result.messages.map((m) => m.origin)).toEqual([0, 1, 2, 3]);
    for (const m of result.messages) {
      expect(m.millis).toBeGreaterThan(0);
      expect(m.maxHops).toBeGreaterThanOrEqual(1);
      // Every node but the origin got a first copy; the rest were duplicates.
      expect(m.copies).toBeGreaterThanOrEqual(5);
    }
  });

  it('round-trips a gossip message through its codec', () => {
    const sink = new ByteSink();
    const message = { id: 7, origin: 3, hops: 2, payload: Uint8Array.of(1, 2, 3) };
    gossipCodec.encode(message, sink);
    const bytes = sink.take();
    const decoded = gossipCodec.decode(bytes);
    expect(decoded).toEqual({ kind: 'message', message, consumed: bytes.length });
  });
});
