/**
 * A live view built from `reactor.stats()`: {@link RateSampler} turns the reactor's cumulative
 * per-peer counters into rates (messages and bytes per second, from the change between two
 * snapshots), and {@link LiveArea} redraws a few lines in place on a terminal.
 */
import type { PeerId, ReactorStats } from 'peerlink';
import { formatBytes, formatCount } from './stats.js';

/** One reading of a reactor, from two consecutive `stats()` snapshots. */
export interface LiveSample {
  /** Connected peers. */
  readonly peers: number;
  /** Messages received per second since the previous sample. */
  readonly messagesInPerSecond: number;
  /** Messages queued for sending per second since the previous sample. */
  readonly messagesOutPerSecond: number;
  /** Bytes received per second since the previous sample. */
  readonly bytesInPerSecond: number;
  /** Bytes handed to the transport per second since the previous sample. */
  readonly bytesOutPerSecond: number;
  /** Bytes queued for every peer and not yet handed to the transport. */
  readonly bytesQueued: number;
  /** Peers whose reading is paused because the event queue is full. */
  readonly pausedPeers: number;
  /** Events waiting in the reactor's queue. */
  readonly queuedEvents: number;
  /** Messages received from the connected peers since each connected (a cumulative count). */
  readonly messagesIn: number;
  /** Messages queued for the connected peers since each connected (a cumulative count). */
  readonly messagesOut: number;
}

interface Counters {
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * Samples a reactor's `stats()` and computes rates from the counters' deltas. The counters are
 * per peer and go away with the peer, so the rates count each connected peer's traffic since the
 * previous sample (or since it connected, if it is new); a peer that left between two samples is
 * not counted in the second.
 */
export class RateSampler {
  private previous = new Map<PeerId, Counters>();
  private previousAt: number;

  /**
   * @param source the reactor (anything with `stats()`).
   * @param now the clock, in milliseconds. Default `performance.now`.
   */
  constructor(
    private readonly source: { stats(): ReactorStats },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.previousAt = this.now();
  }

  /** Takes a snapshot and returns the rates since the previous one. */
  sample(): LiveSample {
    const stats = this.source.stats();
    const at = this.now();
    const seconds = (at - this.previousAt) / 1000;
    const current = new Map<PeerId, Counters>();
    let messagesIn = 0;
    let messagesOut = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    let bytesQueued = 0;
    let totalIn = 0;
    let totalOut = 0;
    for (const p of stats.peerStats) {
      totalIn += p.messagesIn;
      totalOut += p.messagesOut;
      const before = this.previous.get(p.peer);
      messagesIn += p.messagesIn - (before?.messagesIn ?? 0);
      messagesOut += p.messagesOut - (before?.messagesOut ?? 0);
      bytesIn += p.bytesIn - (before?.bytesIn ?? 0);
      bytesOut += p.bytesOut - (before?.bytesOut ?? 0);
      bytesQueued += p.bytesQueued;
      current.set(p.peer, p);
    }
    this.previous = current;
    this.previousAt = at;
    const rate = (n: number) => (seconds > 0 ? n / seconds : 0);
    return {
      peers: stats.peers,
      messagesInPerSecond: rate(messagesIn),
      messagesOutPerSecond: rate(messagesOut),
      bytesInPerSecond: rate(bytesIn),
      bytesOutPerSecond: rate(bytesOut),
      bytesQueued,
      pausedPeers: stats.pausedPeers,
      queuedEvents: stats.queuedEvents,
      messagesIn: totalIn,
      messagesOut: totalOut,
    };
  }
}

/** The highest value of each field over several samples. */
export function peakOf(samples: readonly LiveSample[]): LiveSample {
  const peak = {
    peers: 0,
    messagesInPerSecond: 0,
    messagesOutPerSecond: 0,
    bytesInPerSecond: 0,
    bytesOutPerSecond: 0,
    bytesQueued: 0,
    pausedPeers: 0,
    queuedEvents: 0,
    messagesIn: 0,
    messagesOut: 0,
  };
  for (const s of samples) {
    for (const key of Object.keys(peak) as Array<keyof LiveSample>) {
      peak[key] = Math.max(peak[key], s[key]);
    }
  }
  return peak;
}

/** One line: `3 peers, in 12,345 msg/s, out 12,345 msg/s, queued 0 B, paused 0, events 0`. */
export function describeSample(s: LiveSample): string {
  return (
    `${formatCount(s.peers)} ${s.peers === 1 ? 'peer' : 'peers'}, in ${formatCount(s.messagesInPerSecond)} msg/s, ` +
    `out ${formatCount(s.messagesOutPerSecond)} msg/s, queued ${formatBytes(s.bytesQueued)}, ` +
    `paused ${formatCount(s.pausedPeers)}, events ${formatCount(s.queuedEvents)}`
  );
}

/**
 * A few lines at the bottom of a terminal, redrawn in place ({@link update}); other output goes
 * above them ({@link log}). Only for a TTY: it writes ANSI cursor controls. Lines longer than the
 * terminal is wide are cut, so each takes one row.
 */
export class LiveArea {
  private drawn = 0;
  private lines: string[] = [];

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  /** Replaces the lines and redraws them. */
  update(lines: readonly string[]): void {
    this.lines = [...lines];
    this.out.write(this.erase() + this.render());
  }

  /** Prints `line` above the live lines, which stay at the bottom. */
  log(line: string): void {
    this.out.write(`${this.erase()}${line}\n${this.render()}`);
  }

  /** Leaves the last drawing where it is; later output goes below it. */
  done(): void {
    this.drawn = 0;
    this.lines = [];
  }

  private erase(): string {
    // Up to the first live line, then erase to the end of the screen.
    return this.drawn === 0 ? '' : `\x1b[${this.drawn}A\r\x1b[J`;
  }

  private render(): string {
    // A terminal of unknown size (columns 0, as under `script`) gets whole lines.
    const columns = this.out.columns ?? 0;
    const width = columns >= 20 ? columns - 1 : Number.POSITIVE_INFINITY;
    this.drawn = this.lines.length;
    return this.lines.map((l) => `\r\x1b[K${l.length > width ? l.slice(0, width) : l}\n`).join('');
  }
}
