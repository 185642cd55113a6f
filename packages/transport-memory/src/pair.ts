import type { Connection } from '@peerlink/stream';
import { MemoryConnection, Runtime } from './connection.js';
import { type LinkOptions, resolveLink } from './options.js';
import { realScheduler, type Scheduler } from './scheduler.js';

/** Options for {@link memoryPair}: a link's behaviour plus where it runs. */
export interface MemoryPairOptions extends LinkOptions {
  /**
   * The clock and task queue; pass a {@link VirtualScheduler} for deterministic timing.
   * Default: a new {@link realScheduler}.
   */
  readonly scheduler?: Scheduler;
  /** The two sides' local addresses, `[a, b]`. Default `['memory-a:1', 'memory-b:1']`. */
  readonly addresses?: readonly [string, string];
}

/**
 * Creates two connected in-memory connections, `[a, b]`, neither started: what `a` writes, `b`
 * reads, and the other way round. See {@link LinkOptions} for chunking, latency, bandwidth,
 * capacity and faults; the same options (seed included) always cut the same writes into the same
 * chunks. Faults name their direction as `'a-to-b'` or `'b-to-a'`; connect faults (`refuse`,
 * `blackhole`) make no sense here and are refused with `ERR_INVALID_CONFIG`.
 *
 * @example
 * ```ts
 * const [a, b] = memoryPair({ seed: 7, chunking: { max: 16 } });
 * b.start({ onData: (chunk) => console.log(chunk), onDrain() {}, onEnd() {}, onClose() {} });
 * a.start({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} });
 * a.write(new TextEncoder().encode('hello'));
 * ```
 */
export function memoryPair(options: MemoryPairOptions = {}): [Connection, Connection] {
  const configs = resolveLink(options, false);
  const runtime = new Runtime(options.scheduler ?? realScheduler());
  const addresses = options.addresses ?? ['memory-a:1', 'memory-b:1'];
  return MemoryConnection.pair(runtime, configs, (options.seed ?? 0) >>> 0, addresses);
}
