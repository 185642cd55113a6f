import type { StreamConfig } from '@peerlink/stream';
import type { ReactorTimers } from './options.js';
import type { Registry } from './registry.js';
import { interval, timerInterval } from './util.js';

/**
 * The reactor's periodic housekeeping: every tick, each peer's staleness, idle timeout and
 * handshake deadline, the deadlines of the peers closing, and, less often, shrinking every peer's
 * buffers. Runs on the injected `timers` when given, else on an unref'd interval. Internal.
 */
export class Housekeeping<M> {
  private readonly stopHousekeeping: () => void;
  /** See `ReactorOptions.idleTimeout` (ms; 0: off). */
  private readonly idleTimeout: number;
  /** See `ReactorOptions.handshakeTimeout` (ms; 0: off). */
  private readonly handshakeTimeout: number;
  private readonly shrinkEvery: number;
  private readonly tickMs: number;
  private sinceShrink = 0;

  constructor(
    private readonly registry: Registry<M>,
    config: StreamConfig,
    options: { readonly housekeepingInterval?: number; readonly shrinkInterval?: number },
    idleTimeout: number,
    handshakeTimeout: number,
    timers: ReactorTimers | undefined,
  ) {
    this.idleTimeout = idleTimeout;
    this.handshakeTimeout = handshakeTimeout;
    this.tickMs =
      timerInterval('housekeepingInterval', options.housekeepingInterval) ??
      Math.max(
        10,
        Math.min(
          1000,
          config.txTimeout / 4,
          config.messageTimeout > 0 ? config.messageTimeout / 4 : 1000,
          this.idleTimeout > 0 ? this.idleTimeout / 4 : 1000,
          this.handshakeTimeout > 0 ? this.handshakeTimeout / 4 : 1000,
        ),
      );
    this.shrinkEvery = interval('shrinkInterval', options.shrinkInterval ?? 30_000);
    if (timers === undefined) {
      const interval = setInterval(() => this.tick(), this.tickMs);
      interval.unref?.();
      this.stopHousekeeping = () => clearInterval(interval);
    } else {
      let handle: unknown;
      let stopped = false;
      const again = () => {
        handle = timers.setTimeout(() => {
          this.tick();
          if (!stopped) again();
        }, this.tickMs);
      };
      again();
      this.stopHousekeeping = () => {
        stopped = true;
        timers.clearTimeout(handle);
      };
    }
  }

  /** Stops the housekeeping. */
  stop(): void {
    this.stopHousekeeping();
  }

  private tick(): void {
    const now = this.registry.clock();
    for (const p of this.registry.peers.values()) p.checkStale(now);
    const idle = this.idleTimeout;
    if (idle > 0) for (const p of this.registry.peers.values()) p.checkIdle(now, idle);
    const handshake = this.handshakeTimeout;
    if (handshake > 0)
      for (const p of this.registry.peers.values()) p.checkHandshake(now, handshake);
    for (const p of this.registry.closing) p.checkClosing(now);
    this.sinceShrink += this.tickMs;
    if (this.sinceShrink >= this.shrinkEvery) {
      this.sinceShrink = 0;
      for (const p of this.registry.peers.values()) p.shrink();
    }
  }
}
