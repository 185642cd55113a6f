/**
 * Application-level liveness with the pingpong codec. TCP alone never notices a peer that
 * vanished without FIN or RST (cable pulled, NAT entry expired) unless something is sent to it,
 * and a peer that is merely quiet looks the same as a dead one. The pattern:
 *
 * - every node sends `ping n` to each of its peers every `interval` ms, and answers every `ping n`
 *   with `pong n` (so a peer that only answers, such as the Rust pingpong client, works too);
 * - every node sets the reactor's `idleTimeout` to a few intervals (3 × is the usual choice: one
 *   lost or late ping is not fatal), so a peer from which nothing arrives for that long is
 *   dropped with reason `idle`.
 *
 * Any message refreshes the idle timer, so a busy peer costs no extra traffic beyond the pings;
 * the pings cost 12 bytes per peer per interval. The heartbeat subscribes its own listener
 * (`onEvent`), beside the application's.
 */
import type { PeerId, Reactor, ReactorTimers } from 'peerlink';
import type { PingPong } from './pingpong.js';

/** Options of {@link heartbeat}. */
export interface HeartbeatOptions {
  /** How often each peer is pinged, in ms. Default 1000. Pair with `idleTimeout: 3 × interval`. */
  interval?: number;
  /** The timers to run on (a `VirtualScheduler` for simulated time). Default: the platform's. */
  timers?: ReactorTimers;
}

const platformTimers: ReactorTimers = {
  now: () => performance.now(),
  setTimeout: (callback, delay) => setTimeout(callback, delay).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Pings every peer of `reactor` every `interval` ms and answers its pings with pongs. Returns the
 * function that stops it (the listener is removed and the timer cleared).
 */
export function heartbeat(reactor: Reactor<PingPong>, options: HeartbeatOptions = {}): () => void {
  const interval = options.interval ?? 1000;
  const timers = options.timers ?? platformTimers;
  let n = 0n;
  let handle: unknown;
  let stopped = false;
  const beat = () => {
    if (stopped) return;
    for (const peer of reactor.peerIds) send(peer, { kind: 'ping', n });
    n++;
    handle = timers.setTimeout(beat, interval);
  };
  // A ping refused by a full send buffer is skipped: the peer's own traffic shows it is alive,
  // and the next beat tries again. A pong, likewise, is only a courtesy.
  const send = (peer: PeerId, message: PingPong) => void reactor.send(peer, message);
  const unsubscribe = reactor.onEvent(
    () => {},
    (peer, message) => {
      if (message.kind === 'ping') send(peer, { kind: 'pong', n: message.n });
    },
  );
  handle = timers.setTimeout(beat, interval);
  return () => {
    stopped = true;
    unsubscribe();
    timers.clearTimeout(handle);
  };
}
