import { lengthPrefixed } from '@peerlink/codec';
import {
  exportReactorMetrics,
  METRICS,
  PeerlinkMetrics,
  type StatsSource,
} from '@peerlink/metrics-prometheus';
import { type PeerId, Reactor, type ReactorEvent, type ReactorStats } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { peerSnapshot, statsSnapshot } from '../../reactor/test/fixtures.js';
import { parse } from './text.js';

const codec = lengthPrefixed({ maxSize: 1024 });

/** Types of every metric family, from the `# TYPE` lines. */
function types(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** A snapshot with no peers, all else 0 or empty but `extra`. */
const emptyStats = (extra: Partial<ReactorStats> = {}) => statsSnapshot([], extra);

const reactors: Reactor<Uint8Array>[] = [];

/** Two reactors on a memory network, b connected to a; resolves once a has accepted. */
async function pair() {
  const network = new MemoryNetwork({ seed: 1 });
  const a = new Reactor({ codec, transport: network.transport('a') });
  const b = new Reactor({ codec, transport: network.transport('b') });
  reactors.push(a, b);
  const aEvents: ReactorEvent<Uint8Array>[] = [];
  let wake: (() => void) | undefined;
  a.onEvent((e) => {
    aEvents.push(e);
    wake?.();
  });
  const until = async (test: () => boolean) => {
    while (!test()) await new Promise<void>((r) => (wake = r));
  };
  const [address] = await a.listen('a:1');
  const bPeer: PeerId = await b.connect(address!);
  await until(() => aEvents.some((e) => e.type === 'accepted'));
  return { a, b, bPeer, aEvents, until };
}

/**
 * The exporter's tests, run once per supported prom-client major: `metrics.test.ts` with the
 * current one, `prom-client-14.test.ts` with 14 put in place of `prom-client` by `vi.mock`.
 */
export function exporterSuite(title: string): void {
  describe(`PeerlinkMetrics (${title})`, () => {
    afterEach(async () => {
      await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
    });

    it('publishes every metric with the conventional type and unit suffixes', async () => {
      const registry = new Registry();
      new PeerlinkMetrics({ registry }).add({ stats: () => emptyStats() });
      const text = await registry.metrics();
      const t = types(text);
      for (const name of Object.keys(METRICS)) {
        const kind = name.endsWith('_total') ? 'counter' : 'gauge';
        expect(t.get(`peerlink_${name}`), name).toBe(kind);
      }
      expect(text).toContain('# HELP peerlink_received_bytes_total Bytes received');
    });

    it('publishes the totals, peers by direction and queue figures of a reactor', async () => {
      const { a, b, bPeer, aEvents, until } = await pair();
      const registry = new Registry();
      exportReactorMetrics(a, { registry, prefix: 'p2p_' });
      for (let i = 0; i < 5; i++) b.send(bPeer, new Uint8Array(10));
      await until(() => aEvents.filter((e) => e.type === 'message').length === 5);
      const accepted = aEvents.find((e) => e.type === 'accepted')!;
      if (accepted.type !== 'accepted') throw new Error('unreachable');
      a.send(accepted.peer, new Uint8Array(3));
      await a.drained(accepted.peer);
      await new Promise((r) => setImmediate(r)); // let the microtask flush run
      const m = parse(await registry.metrics());
      const stats = a.stats();
      expect(m.get('p2p_received_messages_total')).toBe(5);
      expect(m.get('p2p_received_bytes_total')).toBe(5 * 14); // 4-byte length prefix + 10
      expect(m.get('p2p_received_bytes_total')).toBe(stats.totals.bytesIn);
      expect(m.get('p2p_sent_messages_total')).toBe(1);
      expect(m.get('p2p_sent_bytes_total')).toBe(stats.totals.bytesOut);
      expect(m.get('p2p_peers{direction="inbound"}')).toBe(1);
      expect(m.get('p2p_peers{direction="outbound"}')).toBe(0);
      expect(m.get('p2p_listeners')).toBe(1);
      expect(m.get('p2p_queued_bytes')).toBe(0);
      expect(m.get('p2p_oldest_queued_age_seconds')).toBe(0);
      expect(m.get('p2p_paused_peers')).toBe(0);
      expect(m.get('p2p_event_capacity')).toBe(1024);
    });

    it('reads stats() once per reactor per scrape', async () => {
      const registry = new Registry();
      let calls = 0;
      new PeerlinkMetrics({ registry }).add({
        stats: () => {
          calls++;
          return emptyStats();
        },
      });
      await registry.metrics();
      expect(calls).toBe(1);
      await new Promise((r) => setImmediate(r));
      await registry.metrics();
      expect(calls).toBe(2);
    });

    it('converts queue ages to seconds and sums queued bytes over peers', async () => {
      const registry = new Registry();
      const peer = peerSnapshot(1, {
        direction: 'outbound',
        bytesQueued: 100,
        oldestQueuedAge: 1500,
        blocked: true,
      });
      new PeerlinkMetrics({ registry }).add({
        stats: () =>
          statsSnapshot([peer, { ...peer, peer: 2, bytesQueued: 50, oldestQueuedAge: 250 }]),
      });
      const m = parse(await registry.metrics());
      expect(m.get('peerlink_queued_bytes')).toBe(150);
      expect(m.get('peerlink_oldest_queued_age_seconds')).toBe(1.5);
      expect(m.get('peerlink_blocked_peers')).toBe(2);
      expect(m.get('peerlink_peers{direction="outbound"}')).toBe(2);
    });

    it('publishes disconnects and refusals by reason, and bans', async () => {
      const registry = new Registry();
      const source: StatsSource = {
        stats: () => ({
          ...emptyStats(),
          disconnects: { requested: 3, left: 1, 'write-stale': 2 },
          refused: { banned: 4, rate: 1 },
          bans: 2,
        }),
      };
      new PeerlinkMetrics({ registry }).add(source);
      const m = parse(await registry.metrics());
      expect(m.get('peerlink_disconnects_total{reason="requested"}')).toBe(3);
      expect(m.get('peerlink_disconnects_total{reason="left"}')).toBe(1);
      expect(m.get('peerlink_disconnects_total{reason="write-stale"}')).toBe(2);
      expect(m.get('peerlink_refused_connections_total{reason="banned"}')).toBe(4);
      expect(m.get('peerlink_refused_connections_total{reason="rate"}')).toBe(1);
      expect(m.get('peerlink_bans')).toBe(2);
    });

    it('tells several reactors apart by `labelNames`, and forgets a removed one', async () => {
      const registry = new Registry();
      const metrics = new PeerlinkMetrics({ registry, labelNames: ['node'] });
      const s = (bytesIn: number): StatsSource => ({
        stats: () =>
          emptyStats({ totals: { bytesIn, bytesOut: 0, messagesIn: 0, messagesOut: 0 } }),
      });
      metrics.add(s(10), { node: 'a' });
      const removeB = metrics.add(s(20), { node: 'b' });
      let m = parse(await registry.metrics());
      expect(m.get('peerlink_received_bytes_total{node="a"}')).toBe(10);
      expect(m.get('peerlink_received_bytes_total{node="b"}')).toBe(20);
      expect(m.get('peerlink_peers{node="b",direction="inbound"}')).toBe(0);
      removeB();
      await new Promise((r) => setImmediate(r));
      m = parse(await registry.metrics());
      expect(m.has('peerlink_received_bytes_total{node="b"}')).toBe(false);
      expect(() => metrics.add(s(1), { node: 'a' })).toThrow(TypeError);
      expect(() => metrics.add(s(1), {})).toThrow(TypeError);
      expect(() => metrics.add(s(1), { host: 'x' })).toThrow(TypeError);
    });

    it('refuses label names the exporter uses itself', () => {
      expect(
        () => new PeerlinkMetrics({ registry: new Registry(), labelNames: ['reason'] }),
      ).toThrow(TypeError);
    });

    it('removes its metrics with `unregister()`', async () => {
      const registry = new Registry();
      const metrics = exportReactorMetrics({ stats: () => emptyStats() }, { registry });
      expect(registry.getMetricsAsArray().length).toBe(Object.keys(METRICS).length);
      metrics.unregister();
      expect(registry.getMetricsAsArray().length).toBe(0);
      // The names are free again.
      exportReactorMetrics({ stats: () => emptyStats() }, { registry });
    });

    it('keeps counting departed peers in the totals', async () => {
      const { a, b, bPeer, aEvents, until } = await pair();
      const registry = new Registry();
      exportReactorMetrics(a, { registry });
      b.send(bPeer, new Uint8Array(6));
      await until(() => aEvents.some((e) => e.type === 'message'));
      b.disconnect(bPeer);
      await until(() => aEvents.some((e) => e.type === 'disconnected'));
      const m = parse(await registry.metrics());
      expect(m.get('peerlink_received_bytes_total')).toBe(10);
      expect(m.get('peerlink_peers{direction="inbound"}')).toBe(0);
      expect(m.get('peerlink_disconnects_total{reason="left"}')).toBe(1);
    });
  });
}
