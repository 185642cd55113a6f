import { spawnSync } from 'node:child_process';
import { ByteSink } from 'peerlink';
import { beforeAll, describe, expect, it } from 'vitest';
import { gossipCodec, type MeshStatsSample, meshLinks, runMesh } from '../src/gossip.js';
import { buildProject, root } from './build.js';

beforeAll(() => buildProject('examples'), 60_000);

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

  it('reports a live view of every node from stats(), with the counts the gossip made', async () => {
    const samples: MeshStatsSample[] = [];
    const result = await runMesh({
      nodes: 5,
      links: 2,
      messages: 3,
      statsInterval: 10,
      onStats: (s) => samples.push(s),
    });
    expect(samples[0]!.phase).toBe('linked');
    expect(samples.at(-1)!.phase).toBe('done');
    expect(samples.slice(1, -1).every((s) => s.phase === 'gossip')).toBe(true);
    // Each node's peers: its links, both directions.
    const degree = new Array<number>(5).fill(0);
    for (const [a, b] of result.links) {
      degree[a]!++;
      degree[b]!++;
    }
    for (const s of samples) expect(s.nodes.map((n) => n.peers)).toEqual(degree);
    // Every copy the gossip queued is counted by the senders' stats(); none was left queued.
    const last = samples.at(-1)!;
    const copies = result.messages.reduce((a, m) => a + m.copies, 0);
    expect(last.nodes.reduce((a, n) => a + n.messagesOut, 0)).toBe(copies);
    expect(last.nodes.reduce((a, n) => a + n.messagesIn, 0)).toBeLessThanOrEqual(copies);
    // Every node but the origin received each message at least once.
    expect(last.nodes.reduce((a, n) => a + n.messagesIn, 0)).toBeGreaterThanOrEqual(3 * 4);
    for (const s of samples) {
      for (const n of s.nodes) {
        expect(n.messagesInPerSecond).toBeGreaterThanOrEqual(0);
        expect(n.bytesQueued).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('prints the live view lines and the final figures (mesh.js, without a terminal)', () => {
    const result = spawnSync(
      process.execPath,
      [`${root}examples/dist/mesh.js`, '--nodes', '4', '--links', '2', '--messages', '3'],
      { cwd: root, encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const connections = meshLinks(4, 2).length; // 6: every node has 3 peers
    const live = new RegExp(
      `^live \\d+\\.\\d\\d s \\((linked|gossip|done)\\): 4 nodes, ${2 * connections} peers, ` +
        'in [\\d,]+ msg/s, out [\\d,]+ msg/s, queued [\\d.]+ (B|KiB|MiB); busiest node \\d: 3 peers, ',
    );
    const liveLines = lines.filter((l) => l.startsWith('live '));
    expect(liveLines[0]).toMatch(/\(linked\)/);
    expect(liveLines.at(-1)).toMatch(/\(done\)/);
    for (const l of liveLines) expect(l).toMatch(live);
    const reached = lines.filter((l) =>
      / reached all 4 nodes in [\d.]+ ms \(at most \d hops; /.test(l),
    );
    expect(reached).toHaveLength(3);
    expect(lines.at(-1)).toMatch(
      /^4 nodes, 6 TCP connections; time to reach every node: fastest [\d.]+ ms, slowest [\d.]+ ms$/,
    );
  });

  it('round-trips a gossip message through its codec', () => {
    const sink = new ByteSink();
    const message = { id: 7, origin: 3, hops: 2, payload: Uint8Array.of(1, 2, 3) };
    gossipCodec.encode(message, sink);
    const bytes = sink.peek();
    const decoded = gossipCodec.decode(bytes);
    expect(decoded).toEqual({ kind: 'message', message, consumed: bytes.length });
  });
});
