import type { Housekeeping } from './housekeeping.js';
import type { Inbound } from './inbound.js';
import type { ReactorTimers } from './options.js';
import type { Outbound } from './outbound.js';
import type { Registry } from './registry.js';
import type { Upgrades } from './upgrade.js';
import { after, shutdownError } from './util.js';

/**
 * The reactor's shutdown, once `stopping` is set: stops listening, aborts pending connects and
 * upgrades, reports every peer `disconnected` (`requested`), lets the closing peers flush for up
 * to `flushTimeout` ms on `timers` (the platform's when none were injected; cut short when
 * `signal` aborts), then closes what is left, stops the housekeeping and wakes the event
 * iterators so that they end. Internal.
 */
export async function closeAll<M, S>(
  registry: Registry<M>,
  inbound: Inbound<M, S>,
  outbound: Outbound<M, S>,
  upgrades: Upgrades | undefined,
  housekeeping: Housekeeping<M>,
  timers: ReactorTimers | undefined,
  flushTimeout: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (registry.log.enabled)
    registry.log.write('debug', { peers: registry.peers.size }, 'shutting down');
  const listeners = inbound.takeAll();
  outbound.connects.abortAll(shutdownError());
  upgrades?.abortAll();
  for (const p of [...registry.peers.values()]) p.disconnect({ kind: 'requested' });
  await Promise.allSettled(listeners.map((l) => l.close()));
  if (registry.closing.size > 0) {
    const allClosed = new Promise<void>((resolve) => {
      registry.closedAll = resolve;
    });
    // `options.signal` cuts the flush short: what is left is closed at once.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = () => resolve();
      if (signal?.aborted) resolve();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (flushTimeout === Number.POSITIVE_INFINITY) {
      // Housekeeping still resets a peer whose data stops leaving (txTimeout).
      await Promise.race([allClosed, aborted]);
    } else {
      let cancel: (() => void) | undefined;
      const timedOut = new Promise<void>((resolve) => {
        cancel = after(timers, flushTimeout, resolve, false);
      });
      await Promise.race([allClosed, timedOut, aborted]);
      cancel?.();
    }
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    registry.closedAll = undefined;
    // Out of time: close the rest at once, and forget them without waiting for the transport.
    for (const p of [...registry.closing]) p.closeNow();
  }
  housekeeping.stop();
  // Wake an iterator waiting on an empty queue: it ends now.
  registry.queue.wake();
}
