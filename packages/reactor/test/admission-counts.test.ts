import { describe, expect, it } from 'vitest';
import { Admission } from '../src/admission.js';
import type { PeerId } from '../src/events.js';

// Idle memory per connection (issue 15): the per-address and per-prefix counts cost an entry and
// two key strings per inbound peer, so they are kept only when a limit or eviction reads them.
describe('Admission keeps per-peer counts only when something reads them', () => {
  const peer = (n: number) => n as PeerId;

  it('with the defaults (no limit, no eviction) an inbound peer is not counted', () => {
    const a = new Admission({});
    for (let i = 0; i < 10; i++) {
      expect(a.admit('10.0.0.1:5000', 0)).toBeUndefined();
      a.added(peer(i), '10.0.0.1:5000');
    }
    expect(a.counted).toBe(0);
    a.removed(peer(3)); // a peer that was never counted: nothing to undo
    expect(a.counted).toBe(0);
  });

  for (const [name, options] of [
    ['maxInboundPerAddress', { maxInboundPerAddress: 2 }],
    ['maxInboundPerPrefix', { maxInboundPerPrefix: 2 }],
  ] as const) {
    it(`with ${name} the peers are counted and the limit holds`, () => {
      const a = new Admission(options);
      for (let i = 0; i < 2; i++) {
        expect(a.admit(`10.0.0.1:${5000 + i}`, 0)).toBeUndefined();
        a.added(peer(i), `10.0.0.1:${5000 + i}`);
      }
      expect(a.counted).toBe(2);
      expect(a.admit('10.0.0.1:6000', 0)).toBe(
        name === 'maxInboundPerAddress' ? 'address-limit' : 'prefix-limit',
      );
      a.removed(peer(0));
      expect(a.counted).toBe(1);
      expect(a.admit('10.0.0.1:6000', 0)).toBeUndefined();
    });
  }

  it('with eviction the peers are counted (eviction groups them by prefix)', () => {
    const a = new Admission({ evictInbound: { protectRecent: 0, protectLongLived: 0 } });
    a.added(peer(1), '10.0.0.1:1');
    a.added(peer(2), '10.0.0.2:1');
    a.added(peer(3), '10.0.1.1:1');
    expect(a.counted).toBe(3);
    const c = (id: number, remoteAddress: string, connectedAt: number) => ({
      id: peer(id),
      remoteAddress,
      connectedAt,
      lastReceivedAt: 0,
    });
    // The largest prefix group (10.0.0.0/24) gives its youngest peer.
    expect(
      a.pickEviction([c(1, '10.0.0.1:1', 1), c(2, '10.0.0.2:1', 2), c(3, '10.0.1.1:1', 3)]),
    ).toBe(peer(2));
  });
});
