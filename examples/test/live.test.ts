import { describe, expect, it } from 'vitest';
import { peerSnapshot, statsSnapshot } from '../../packages/reactor/test/fixtures.js';
import { describeSample, LiveArea, peakOf, RateSampler } from '../src/live.js';

const peer = peerSnapshot;
const snapshot = statsSnapshot;

describe('RateSampler', () => {
  it('computes rates from the change of each peer’s counters between two snapshots', () => {
    let now = 1000;
    let current = snapshot([]);
    const sampler = new RateSampler({ stats: () => current }, () => now);

    // Half a second later: peer 1 is new (counted from 0), 100 messages in, 50 out.
    now = 1500;
    current = snapshot([
      peer(1, { messagesIn: 100, messagesOut: 50, bytesIn: 1200, bytesQueued: 7 }),
    ]);
    const first = sampler.sample();
    expect(first).toMatchObject({
      peers: 1,
      messagesInPerSecond: 200,
      messagesOutPerSecond: 100,
      bytesInPerSecond: 2400,
      bytesQueued: 7,
      messagesIn: 100,
      messagesOut: 50,
    });

    // A second later: peer 1 got 300 more, peer 2 arrived with 10, both queue bytes.
    now = 2500;
    current = snapshot(
      [
        peer(1, { messagesIn: 400, messagesOut: 50, bytesIn: 4800, bytesQueued: 5 }),
        peer(2, { messagesIn: 10, bytesQueued: 3 }),
      ],
      { pausedPeers: 1, queuedEvents: 9 },
    );
    const second = sampler.sample();
    expect(second).toMatchObject({
      peers: 2,
      messagesInPerSecond: 310,
      messagesOutPerSecond: 0,
      bytesInPerSecond: 3600,
      bytesQueued: 8,
      pausedPeers: 1,
      queuedEvents: 9,
      messagesIn: 410,
    });

    // Peer 1 left: only peer 2's change counts.
    now = 3500;
    current = snapshot([peer(2, { messagesIn: 30 })]);
    expect(sampler.sample()).toMatchObject({ peers: 1, messagesInPerSecond: 20, messagesIn: 30 });

    const peak = peakOf([first, second]);
    expect(peak).toMatchObject({ peers: 2, messagesInPerSecond: 310, messagesOutPerSecond: 100 });
    expect(describeSample(second)).toBe(
      '2 peers, in 310 msg/s, out 0 msg/s, queued 8 B, paused 1, events 9',
    );
    expect(describeSample(first)).toMatch(/^1 peer, /);
  });
});

describe('LiveArea', () => {
  it('redraws its lines in place and prints other lines above them', () => {
    let written = '';
    const out = { columns: 30, write: (text: string) => (written += text) };
    const area = new LiveArea(out as unknown as NodeJS.WriteStream);
    area.update(['one', 'two']);
    expect(written).toBe('\r\x1b[Kone\n\r\x1b[Ktwo\n');
    written = '';
    area.log('above');
    // Up two lines, erase to the end of the screen, the line, then the live lines again.
    expect(written).toBe('\x1b[2A\r\x1b[Jabove\n\r\x1b[Kone\n\r\x1b[Ktwo\n');
    written = '';
    area.update(['x'.repeat(40)]);
    expect(written).toBe(`\x1b[2A\r\x1b[J\r\x1b[K${'x'.repeat(29)}\n`); // cut to the width
    area.done();
    written = '';
    area.update(['new']);
    expect(written).toBe('\r\x1b[Knew\n'); // after done(), drawn below the old drawing
  });
});
