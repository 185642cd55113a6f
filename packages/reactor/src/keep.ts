import { ErrorCodes, PeerlinkError } from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import type { DisconnectReason, PeerId, ReactorEvent } from './events.js';

/**
 * The exponential backoff of {@link keep}. The delay before retry `k` (`k` = 1, 2, … consecutive
 * failed attempts so far) is
 *
 *     base(k)  = min(max, initial × factor^(k − 1))
 *     delay(k) = base(k) × (1 − jitter × U),   U uniform in [0, 1)
 *
 * so with the defaults it falls in (0.5 s, 1 s], (1 s, 2 s], (2 s, 4 s], … up to (30 s, 60 s].
 */
export interface BackoffOptions {
  /** The base delay before the first retry, in milliseconds. Default 1000 (1 s). */
  initial?: number;
  /** The largest base delay, in milliseconds. Default 60000 (60 s). */
  max?: number;
  /** How much the base delay grows after each failed attempt. Default 2. */
  factor?: number;
  /**
   * The share of each delay that is random, in [0, 1]: 0 waits exactly `base(k)`, 1 anywhere in
   * (0, `base(k)`] ("full jitter"). Default 0.5. Jitter keeps many nodes that lost the same peer
   * from reconnecting in lockstep.
   */
  jitter?: number;
  /**
   * Consecutive failed attempts after which {@link keep} gives up (`gave-up`). Default `Infinity`
   * (retry forever).
   */
  attempts?: number;
}

/** The clock and timers {@link keep} runs on (a `VirtualScheduler` of the memory transport fits). */
export interface KeepTimers {
  /** The current time, in milliseconds. */
  now(): number;
  setTimeout(callback: () => void, delay: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What {@link keep} reports; every connect attempt and every wait is an event. */
export type KeepEvent =
  /** A connect attempt starts; `attempt` counts from 1 since the last stable connection. */
  | { readonly type: 'attempt'; readonly target: string; readonly attempt: number }
  /** The attempt connected. */
  | {
      readonly type: 'connected';
      readonly target: string;
      readonly peer: PeerId;
      readonly attempt: number;
    }
  /** The kept peer disconnected after `lasted` ms; a reconnect follows (at once, or after a wait). */
  | {
      readonly type: 'disconnected';
      readonly target: string;
      readonly peer: PeerId;
      readonly reason: DisconnectReason;
      readonly lasted: number;
    }
  /**
   * The attempt failed (`error`: the connect failure; `undefined` when a connection ended before
   * it was stable), and the next one starts after `delay` ms. `failures` counts the consecutive
   * failed attempts, the `k` of the backoff formula.
   */
  | {
      readonly type: 'retry';
      readonly target: string;
      readonly failures: number;
      readonly delay: number;
      readonly error: Error | undefined;
    }
  /** `backoff.attempts` consecutive attempts failed: no more attempts. */
  | {
      readonly type: 'gave-up';
      readonly target: string;
      readonly failures: number;
      readonly error: Error | undefined;
    }
  /** Keeping stopped: `unkeep()`, the signal aborted, or the reactor shut down. */
  | {
      readonly type: 'stopped';
      readonly target: string;
      readonly reason: 'unkeep' | 'aborted' | 'shutdown';
    };

/** Options of {@link keep}. */
export interface KeepOptions {
  /** The backoff between failed attempts; see {@link BackoffOptions} for the formula. */
  backoff?: BackoffOptions;
  /**
   * How long a connection must last to count as successful, in milliseconds: one that ends
   * sooner counts as a failed attempt (so a peer that accepts and hangs up at once is retried
   * with a growing delay, not in a tight loop). After a stable connection ends, the next attempt
   * starts at once and the failure count starts again from 0. Default 10000 (10 s).
   */
  stableAfter?: number;
  /** Stops keeping, as {@link Kept.unkeep} does, and cancels an attempt in progress. */
  signal?: AbortSignal;
  /** Receives every {@link KeepEvent}, synchronously. */
  onEvent?: (event: KeepEvent) => void;
  /** Uniform random numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * The clock and timers. Default: the reactor's `timers` when it was given some (so that a
   * reactor on simulated time keeps on simulated time too), else `performance.now` and the
   * platform's `setTimeout`, unref'd so that a wait between attempts does not keep the process
   * alive on its own.
   */
  timers?: KeepTimers;
}

/** A peer kept connected by {@link keep}. */
export interface Kept {
  /** The target, as given. */
  readonly target: string;
  /** The connected peer now, or `undefined` while (re)connecting or waiting. */
  readonly peer: PeerId | undefined;
  /**
   * Consecutive failed attempts so far; back to 0 once a connection has lasted `stableAfter`.
   */
  readonly failures: number;
  /** Whether keeping has ended (`unkeep`, abort, shutdown, or `gave-up`). */
  readonly stopped: boolean;
  /**
   * Resolves with the last event once keeping ends: `stopped` or `gave-up`. Never rejects.
   */
  readonly done: Promise<Extract<KeepEvent, { type: 'stopped' | 'gave-up' }>>;
  /**
   * Stops reconnecting and cancels an attempt in progress. The current connection, if any, stays
   * up: disconnect it yourself if you want it gone. Idempotent.
   */
  unkeep(): void;
}

/**
 * What {@link keep} needs of a reactor: its public `connect`, a listener slot and, if it runs on
 * injected timers, those.
 */
export interface KeepHost<M = unknown> {
  connect(target: string, options?: { signal?: AbortSignal }): Promise<PeerId>;
  onEvent(handler: (event: ReactorEvent<M>) => void): () => void;
  /** The host's injected timers, if any: {@link keep} runs on them unless given its own. */
  readonly timers?: KeepTimers | undefined;
}

/** Resolved backoff settings (defaults applied and checked). */
export interface Backoff {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  readonly jitter: number;
  readonly attempts: number;
}

/** Applies the defaults of {@link BackoffOptions}; throws `ERR_INVALID_ARGUMENT` naming the field. */
export function resolveBackoff(options: BackoffOptions = {}): Backoff {
  const b = {
    initial: options.initial ?? 1000,
    max: options.max ?? 60_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? 0.5,
    attempts: options.attempts ?? Number.POSITIVE_INFINITY,
  };
  const check = (field: string, ok: boolean, value: number) => {
    if (!ok) {
      throw new PeerlinkError(ErrorCodes.INVALID_ARGUMENT, `backoff.${field}: invalid ${value}`);
    }
  };
  check('initial', Number.isFinite(b.initial) && b.initial >= 0, b.initial);
  check('max', b.max >= b.initial && !Number.isNaN(b.max), b.max);
  check('factor', Number.isFinite(b.factor) && b.factor >= 1, b.factor);
  check('jitter', b.jitter >= 0 && b.jitter <= 1, b.jitter);
  check(
    'attempts',
    b.attempts === Number.POSITIVE_INFINITY || (Number.isInteger(b.attempts) && b.attempts > 0),
    b.attempts,
  );
  return b;
}

/**
 * The delay before retry `failures` (≥ 1), in milliseconds, for a uniform random `u` in [0, 1):
 * `min(max, initial × factor^(failures − 1)) × (1 − jitter × u)`.
 */
export function backoffDelay(backoff: Backoff, failures: number, u: number): number {
  const base = Math.min(backoff.max, backoff.initial * backoff.factor ** (failures - 1));
  return base * (1 - backoff.jitter * u);
}

const defaultTimers: KeepTimers = {
  now: () => performance.now(),
  setTimeout(callback, delay) {
    const t = setTimeout(callback, delay);
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Keeps `target` connected: connects now, and again whenever the connection ends or an attempt
 * fails, waiting between failed attempts with exponential backoff and jitter (see
 * {@link BackoffOptions}). Works through the reactor's public API only: each attempt is an
 * ordinary `reactor.connect` (so it also emits the reactor's `connected` / `connect-failed`), and
 * the kept peer's `disconnected` is seen through a listener added with `reactor.onEvent`.
 *
 * Keeping stops with {@link Kept.unkeep}, with `options.signal`, when the reactor shuts down, or
 * after `backoff.attempts` consecutive failures. A disconnect of any reason, including a
 * `disconnect(peer)` of your own, is followed by a reconnect: call `unkeep()` first to let a peer go.
 *
 * @example
 * ```ts
 * const kept = keep(reactor, 'seed.example.org:8333', {
 *   backoff: { initial: 500, max: 30_000 },
 *   onEvent: (e) => console.log(e.type, e),
 * });
 * // later
 * kept.unkeep();
 * ```
 */
export function keep<M>(host: KeepHost<M>, target: string, options: KeepOptions = {}): Kept {
  const backoff = resolveBackoff(options.backoff);
  const stableAfter = options.stableAfter ?? 10_000;
  if (!(stableAfter >= 0)) {
    throw new PeerlinkError(ErrorCodes.INVALID_ARGUMENT, `stableAfter: invalid ${stableAfter}`);
  }
  const timers = options.timers ?? host.timers ?? defaultTimers;
  const random = options.random ?? Math.random;
  const signal = options.signal;

  let peer: PeerId | undefined;
  let connectedAt = 0;
  let failures = 0;
  let attempt = 0;
  let stopped = false;
  let timer: unknown;
  /** Set while the current connection is younger than `stableAfter`. */
  let stableTimer: unknown;
  let attemptController: AbortController | undefined;
  /** Peers that disconnected while their connect promise had not yet resolved. */
  const early = new Map<PeerId, DisconnectReason>();
  let finish!: (event: Extract<KeepEvent, { type: 'stopped' | 'gave-up' }>) => void;
  const done = new Promise<Extract<KeepEvent, { type: 'stopped' | 'gave-up' }>>((resolve) => {
    finish = resolve;
  });

  const report = (event: KeepEvent) => {
    options.onEvent?.(event);
  };

  const end = (event: Extract<KeepEvent, { type: 'stopped' | 'gave-up' }>) => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    signal?.removeEventListener('abort', onAbort);
    if (timer !== undefined) timers.clearTimeout(timer);
    if (stableTimer !== undefined) timers.clearTimeout(stableTimer);
    timer = stableTimer = undefined;
    attemptController?.abort(
      new PeerlinkError(ReactorErrorCodes.ABORTED, `keep ${target}: stopped (${event.type})`),
    );
    report(event);
    finish(event);
  };

  const stop = (reason: 'unkeep' | 'aborted' | 'shutdown') => {
    end({ type: 'stopped', target, reason });
  };

  const onAbort = () => stop('aborted');

  /** One more failure (`error`: why), then either a wait and a retry, or giving up. */
  const failed = (error: Error | undefined) => {
    failures++;
    if (failures >= backoff.attempts) {
      end({ type: 'gave-up', target, failures, error });
      return;
    }
    const delay = backoffDelay(backoff, failures, random());
    report({ type: 'retry', target, failures, delay, error });
    timer = timers.setTimeout(() => {
      timer = undefined;
      tryConnect();
    }, delay);
  };

  const lost = (p: PeerId, reason: DisconnectReason) => {
    peer = undefined;
    const lasted = timers.now() - connectedAt;
    report({ type: 'disconnected', target, peer: p, reason, lasted });
    if (stopped) return;
    if (stableTimer === undefined) {
      tryConnect(); // it was stable: the count started again from 0
    } else {
      timers.clearTimeout(stableTimer);
      stableTimer = undefined;
      failed(undefined);
    }
  };

  const tryConnect = () => {
    if (stopped) return;
    attempt++;
    report({ type: 'attempt', target, attempt });
    const controller = new AbortController();
    attemptController = controller;
    early.clear();
    host.connect(target, { signal: controller.signal }).then(
      (id) => {
        if (attemptController === controller) attemptController = undefined;
        if (stopped) return; // unkept while connecting: the connection stays, as documented
        peer = id;
        connectedAt = timers.now();
        stableTimer = timers.setTimeout(() => {
          stableTimer = undefined;
          failures = 0;
          attempt = 0;
        }, stableAfter);
        report({ type: 'connected', target, peer: id, attempt });
        const gone = early.get(id);
        early.clear();
        if (gone !== undefined) lost(id, gone);
      },
      (error: unknown) => {
        if (attemptController === controller) attemptController = undefined;
        if (stopped) return;
        const err = error instanceof Error ? error : new Error(String(error));
        if (PeerlinkError.isInstance(err) && err.code === ReactorErrorCodes.SHUTDOWN) {
          stop('shutdown');
          return;
        }
        failed(err);
      },
    );
  };

  const unsubscribe = host.onEvent((event) => {
    if (event.type !== 'disconnected' || stopped) return;
    if (event.peer === peer) lost(event.peer, event.reason);
    else if (peer === undefined && attemptController !== undefined) {
      early.set(event.peer, event.reason);
    }
  });

  if (signal?.aborted) {
    queueMicrotask(() => stop('aborted'));
  } else {
    signal?.addEventListener('abort', onAbort, { once: true });
    tryConnect();
  }

  return {
    target,
    get peer() {
      return peer;
    },
    get failures() {
      return failures;
    },
    get stopped() {
      return stopped;
    },
    done,
    unkeep: () => stop('unkeep'),
  };
}
