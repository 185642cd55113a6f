import { describe, expect, it } from 'vitest';
import { runResilientMesh } from '../src/resilient-mesh.js';

describe('resilient mesh example (keep, idleTimeout, ban; simulated network and time)', () => {
  it('bans the node that breaks the codec, drops the black-holed link as idle, and reconnects it once healed', async () => {
    const { log, stats, peers, handshakes } = await runResilientMesh({ nodes: 4, healAt: 20_000 });
    const lines = log.map((l) => `${l.at} ${l.node}: ${l.what}`);
    // Mallory: disconnected for breaking the codec, banned, then refused until it gives up.
    expect(log.some((l) => l.node === 'n0' && l.what.endsWith('codec-violation'))).toBe(true);
    expect(log.some((l) => l.node === 'n0' && l.what === 'banned mallory')).toBe(true);
    expect(stats.n0!.refused.banned).toBeGreaterThanOrEqual(1);
    expect(log.some((l) => l.node === 'mallory' && l.what === 'gave up')).toBe(true);
    // n3 dropped its link from n2 as idle (n2's bytes vanished), more than once before the heal.
    const idle = log.filter((l) => l.node === 'n3' && l.what.endsWith('idle'));
    expect(idle.length, lines.join('\n')).toBeGreaterThanOrEqual(1);
    expect(idle.every((l) => l.at < 20_000 + 5000)).toBe(true);
    // After the heal n2's kept link came back and stayed.
    const back = log.filter(
      (l) => l.node === 'n2' && l.what.startsWith('keep: connected') && l.at >= 20_000,
    );
    expect(back.length, lines.join('\n')).toBeGreaterThanOrEqual(1);
    expect(log.filter((l) => l.node === 'n3' && l.what.endsWith('idle') && l.at > 30_000)).toEqual(
      [],
    );
    // The ring is whole at the end: every node has its two neighbours.
    expect(peers).toEqual({ n0: 2, n1: 2, n2: 2, n3: 2 });
    expect(stats.n3!.disconnects.idle).toBeGreaterThanOrEqual(1);
    // Every peer left completed its handshake (its first beacon) and kept sending beacons.
    for (const list of Object.values(handshakes)) {
      expect(list).toHaveLength(2);
      for (const h of list) {
        expect(h.ready).toBe(true);
        expect(h.beacons).toBeGreaterThan(5);
      }
    }
  });
});
