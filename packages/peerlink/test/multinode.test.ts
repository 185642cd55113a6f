import { lengthPrefixed, MemoryNetwork, type PeerId, Reactor, type ReactorEvent } from 'peerlink';
import { VirtualScheduler } from 'peerlink/testing';
import { describe, expect, it } from 'vitest';

const codec = lengthPrefixed({ maxSize: 1024 });
const text = new TextEncoder();
const read = new TextDecoder();

/**
 * A three-node gossip protocol tested in one process: every node forwards a rumour it has not
 * seen to every other peer. Returns the log of (node, rumour) deliveries in order.
 */
async function gossipRun(seed: number): Promise<string[]> {
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({
    seed,
    scheduler,
    defaults: { latency: 5, jitter: 3, chunking: { min: 1, max: 7 } },
  });
  const log: string[] = [];
  const names = ['a', 'b', 'c'];
  const nodes = names.map(
    (name) =>
      new Reactor({ codec, transport: network.transport(name), clock: () => scheduler.now() }),
  );
  const seen = nodes.map(() => new Set<string>());
  const peersOf = nodes.map(() => new Set<PeerId>());
  const done = new Promise<void>((resolve) => {
    nodes.forEach((node, i) => {
      node.onEvent((e: ReactorEvent<Uint8Array>) => {
        if (e.type === 'connected' || e.type === 'accepted') peersOf[i]!.add(e.peer);
        if (e.type !== 'message') return;
        const rumour = read.decode(e.message);
        if (seen[i]!.has(rumour)) return;
        seen[i]!.add(rumour);
        log.push(`${names[i]}:${rumour}`);
        for (const p of peersOf[i]!) if (p !== e.peer) node.send(p, e.message);
        if (seen.every((s) => s.size === 2)) resolve();
      });
    });
  });
  await nodes[0]!.listen('a:1');
  await nodes[1]!.listen('b:1');
  await nodes[1]!.connect('a:1');
  await nodes[2]!.connect('b:1');
  // Wait until the accepted side has seen its peer too.
  while (peersOf[0]!.size + peersOf[1]!.size < 3) await new Promise((r) => setImmediate(r));
  for (const [i, rumour] of [
    [0, 'from-a'],
    [2, 'from-c'],
  ] as const) {
    seen[i]!.add(rumour);
    log.push(`${names[i]}:${rumour}`);
    for (const p of peersOf[i]!) nodes[i]!.send(p, text.encode(rumour));
  }
  await done;
  await Promise.all(nodes.map((n) => n.shutdown({ flushTimeout: 0 })));
  return log;
}

describe('a multi-node protocol test in one process', () => {
  it('replays the same seed to the same delivery order, and every rumour reaches every node', async () => {
    const first = await gossipRun(42);
    const second = await gossipRun(42);
    expect(second).toEqual(first);
    expect(first).toHaveLength(6);
    for (const node of ['a', 'b', 'c']) {
      expect(first).toContain(`${node}:from-a`);
      expect(first).toContain(`${node}:from-c`);
    }
  });
});
