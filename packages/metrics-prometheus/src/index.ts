/**
 * Publishes the statistics of one or more peerlink reactors as Prometheus metrics, through
 * `prom-client` (a peer dependency). Nothing is counted on the reactor's hot path: every value is
 * read from `reactor.stats()` when the registry is scraped.
 *
 * @packageDocumentation
 */
import type { ReactorStats } from '@peerlink/reactor';
import { Counter, Gauge, register as globalRegistry, type Registry } from 'prom-client';

/** What the exporter reads: anything with the reactor's `stats()` method (a `Reactor`, or a test double). */
export interface StatsSource {
  stats(options?: { peers?: boolean }): ReactorStats;
}

/** Options of {@link PeerlinkMetrics}. */
export interface PeerlinkMetricsOptions {
  /** The registry the metrics are registered in. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Put in front of every metric name. Default `'peerlink_'`. */
  prefix?: string;
  /**
   * Names of the labels that tell reactors apart (for example `['node']`); every
   * {@link PeerlinkMetrics.add} must then give a value for each. Default: none (one reactor).
   */
  labelNames?: readonly string[];
}

/** Every metric the exporter publishes, by name without the prefix, with its help text. */
export const METRICS = {
  received_bytes_total: 'Bytes received from peers (wire bytes, framing included).',
  sent_bytes_total: 'Bytes handed to the transport for peers (wire bytes, framing included).',
  received_messages_total: 'Messages received from peers and delivered.',
  sent_messages_total: 'Messages queued for peers by send().',
  disconnects_total: 'Peers disconnected, by reason (requested, left, codec-violation, ...).',
  refused_connections_total: 'Inbound connections refused, by reason (banned, rate, limit, ...).',
  peers: 'Connected peers, by direction (inbound: accepted, outbound: connected).',
  closing_connections: 'Connections still flushing after a requested disconnect.',
  pending_connects: 'Outbound connects in progress.',
  listeners: 'Bound listeners.',
  bans: 'Bans in force.',
  paused_peers: 'Peers whose reading is paused because the event queue is full.',
  blocked_peers: 'Peers whose transport refused bytes and has not drained yet.',
  queued_bytes: 'Bytes queued for peers and not yet handed to the transport, all peers together.',
  oldest_queued_age_seconds: 'Age of the oldest queued outbound byte over all peers (0 when none).',
  queued_events: 'Events waiting in the events() queue.',
  event_capacity: 'Capacity of the events() queue.',
} as const;

/**
 * Label values that tell one reactor's series apart, by label name (`{ node: 'a' }`): one value
 * for each name in {@link PeerlinkMetricsOptions.labelNames}, no other. Default `{}` (no labels).
 */
export type Labels = Record<string, string>;

interface Source {
  readonly reactor: StatsSource;
  readonly labels: Labels;
  /** The snapshot of the scrape in progress (see {@link PeerlinkMetrics.snapshot}). */
  cached: Snapshot | undefined;
}

/** The figures of one reactor at one scrape. */
interface Snapshot {
  readonly stats: ReturnType<StatsSource['stats']>;
  readonly inbound: number;
  readonly outbound: number;
  readonly blocked: number;
  readonly queuedBytes: number;
  readonly oldestAge: number;
}

/**
 * Registers the peerlink metrics in a prom-client registry and publishes the figures of every
 * reactor {@link add}ed to it. Counters (`_total`) follow the reactor's lifetime totals (departed
 * peers included), so they only go up while the reactor lives; gauges are read at each scrape.
 * Units are Prometheus base units: bytes and seconds.
 *
 * One scrape reads `stats()` once per reactor (about 0.25 µs per connected peer) and reuses the
 * snapshot for every metric of that scrape.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { PeerlinkMetrics } from '@peerlink/metrics-prometheus';
 *
 * const registry = new Registry();
 * new PeerlinkMetrics({ registry }).add(reactor);
 * // in the /metrics handler: res.end(await registry.metrics());
 * ```
 */
export class PeerlinkMetrics {
  /** The registry the metrics live in. */
  readonly registry: Registry;
  /** The metric name prefix. */
  readonly prefix: string;
  private readonly labelNames: readonly string[];
  private readonly sources: Source[] = [];
  private readonly names: string[] = [];

  constructor(options: PeerlinkMetricsOptions = {}) {
    this.registry = options.registry ?? globalRegistry;
    this.prefix = options.prefix ?? 'peerlink_';
    this.labelNames = [...(options.labelNames ?? [])];
    for (const name of this.labelNames) {
      if (name === 'direction' || name === 'reason') {
        throw new TypeError(`labelNames: '${name}' is used by the exporter itself`);
      }
    }
    const self = this;
    /**
     * Registers one metric whose value is read from each reactor's snapshot at every scrape:
     * `value` for a plain series, or `each` for a metric with extra labels (`reason`,
     * `direction`), which sets one value per label set.
     */
    const metric = (
      Type: typeof Counter | typeof Gauge,
      name: keyof typeof METRICS,
      value: (s: Snapshot) => number,
      extra: readonly string[] = [],
      each?: (s: Snapshot, set: (labels: Labels, value: number) => void) => void,
    ) => {
      const full = this.prefix + name;
      this.names.push(full);
      new Type({
        name: full,
        help: METRICS[name],
        labelNames: [...this.labelNames, ...extra],
        registers: [this.registry],
        collect(this: Counter | Gauge) {
          // Counters too are published as read: a reactor's totals are already cumulative.
          this.reset();
          const publish = (labels: Labels, v: number) =>
            this instanceof Gauge ? this.set(labels, v) : this.inc(labels, v);
          for (const source of self.sources) {
            const snap = self.snapshot(source);
            if (each !== undefined) each(snap, (l, v) => publish({ ...source.labels, ...l }, v));
            else publish(source.labels, value(snap));
          }
        },
      });
    };
    metric(Counter, 'received_bytes_total', (s) => s.stats.totals.bytesIn);
    metric(Counter, 'sent_bytes_total', (s) => s.stats.totals.bytesOut);
    metric(Counter, 'received_messages_total', (s) => s.stats.totals.messagesIn);
    metric(Counter, 'sent_messages_total', (s) => s.stats.totals.messagesOut);
    metric(
      Counter,
      'disconnects_total',
      () => 0,
      ['reason'],
      (s, set) => {
        for (const [reason, n] of Object.entries(s.stats.disconnects)) set({ reason }, n ?? 0);
      },
    );
    metric(
      Counter,
      'refused_connections_total',
      () => 0,
      ['reason'],
      (s, set) => {
        for (const [reason, n] of Object.entries(s.stats.refused)) set({ reason }, n ?? 0);
      },
    );
    metric(
      Gauge,
      'peers',
      () => 0,
      ['direction'],
      (s, set) => {
        set({ direction: 'inbound' }, s.inbound);
        set({ direction: 'outbound' }, s.outbound);
      },
    );
    metric(Gauge, 'closing_connections', (s) => s.stats.closing);
    metric(Gauge, 'pending_connects', (s) => s.stats.pendingConnects);
    metric(Gauge, 'listeners', (s) => s.stats.listeners);
    metric(Gauge, 'bans', (s) => s.stats.bans);
    metric(Gauge, 'paused_peers', (s) => s.stats.pausedPeers);
    metric(Gauge, 'blocked_peers', (s) => s.blocked);
    metric(Gauge, 'queued_bytes', (s) => s.queuedBytes);
    metric(Gauge, 'oldest_queued_age_seconds', (s) => s.oldestAge / 1000);
    metric(Gauge, 'queued_events', (s) => s.stats.queuedEvents);
    metric(Gauge, 'event_capacity', (s) => s.stats.eventCapacity);
  }

  /**
   * Publishes `reactor`'s figures, with `labels` (one value per name in `labelNames`) on each of
   * its series. Returns a function that stops publishing it (its series disappear from the next
   * scrape). Throws a `TypeError` when the labels do not match `labelNames` or are already used.
   */
  add(reactor: StatsSource, labels: Readonly<Labels> = {}): () => void {
    const keys = Object.keys(labels).sort();
    const want = [...this.labelNames].sort();
    if (keys.length !== want.length || keys.some((k, i) => k !== want[i])) {
      throw new TypeError(
        `labels: expected exactly [${want.join(', ')}], got [${keys.join(', ')}]`,
      );
    }
    const same = (a: Labels) => want.every((k) => a[k] === labels[k]);
    if (this.sources.some((s) => same(s.labels))) {
      throw new TypeError(`labels: ${JSON.stringify(labels)} already used by another reactor`);
    }
    const source: Source = { reactor, labels: { ...labels }, cached: undefined };
    this.sources.push(source);
    return () => {
      const i = this.sources.indexOf(source);
      if (i >= 0) this.sources.splice(i, 1);
    };
  }

  /** Removes every metric of this exporter from its registry. */
  unregister(): void {
    for (const name of this.names) this.registry.removeSingleMetric(name);
    this.sources.length = 0;
  }

  /**
   * The reactor's figures for the scrape in progress: read once, then reused by every metric
   * collected in the same turn of the event loop (a scrape collects its metrics in one turn).
   */
  private snapshot(source: Source): Snapshot {
    if (source.cached !== undefined) return source.cached;
    const stats = source.reactor.stats();
    let inbound = 0;
    let blocked = 0;
    let queuedBytes = 0;
    let oldestAge = 0;
    for (const p of stats.peerStats) {
      if (p.direction === 'inbound') inbound++;
      if (p.blocked) blocked++;
      queuedBytes += p.bytesQueued;
      if (p.oldestQueuedAge !== undefined && p.oldestQueuedAge > oldestAge) {
        oldestAge = p.oldestQueuedAge;
      }
    }
    const snap: Snapshot = {
      stats,
      inbound,
      outbound: stats.peerStats.length - inbound,
      blocked,
      queuedBytes,
      oldestAge,
    };
    source.cached = snap;
    setImmediate(() => {
      source.cached = undefined;
    });
    return snap;
  }
}

/**
 * Shorthand for one reactor: `new PeerlinkMetrics(options).add(reactor, labels)`. Returns the
 * exporter (call `unregister()` to remove its metrics).
 */
export function exportReactorMetrics(
  reactor: StatsSource,
  options: PeerlinkMetricsOptions & { labels?: Readonly<Labels> } = {},
): PeerlinkMetrics {
  const { labels, ...rest } = options;
  const metrics = new PeerlinkMetrics({
    ...rest,
    labelNames: rest.labelNames ?? Object.keys(labels ?? {}),
  });
  metrics.add(reactor, labels ?? {});
  return metrics;
}
