import { abortable, type Connection, PeerlinkError, type Transport } from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import type { ReactorTimers } from './options.js';
import { after, asError, noop } from './util.js';

interface PendingConnect {
  readonly target: string;
  readonly controller: AbortController;
  /** Cancels the connect's timeout. */
  cancelTimer: () => void;
  /** Fails this connect with `ERR_ABORTED` (its caller's signal aborted). */
  readonly abortByCaller: () => void;
}

/** The connects that share one caller's signal, and the one listener this registered on it. */
interface SignalWatch {
  readonly pending: Set<PendingConnect>;
  readonly onAbort: () => void;
}

/**
 * The outbound connects in flight: starts each on the transport, fails it after
 * `connectTimeout`, when the caller's signal aborts, or when {@link abortAll} is called.
 */
export class Connects {
  private readonly pending = new Set<PendingConnect>();
  /**
   * One `abort` listener per caller's signal, however many connects share it (a listener each
   * would trip Node's `MaxListenersExceededWarning` past 10).
   */
  private readonly watches = new WeakMap<AbortSignal, SignalWatch>();

  /**
   * @param transport Makes the connections.
   * @param timeout How long a connect may take, in milliseconds (`connectTimeout`; `Infinity`:
   *   no limit, no timer).
   * @param timers The reactor's injected timers the timeout runs on; `undefined`: the platform's
   *   `setTimeout`, unref'd.
   */
  constructor(
    private readonly transport: Transport,
    private readonly timeout: number,
    private readonly timers: ReactorTimers | undefined,
  ) {}

  /** Connects in flight. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Connects to `target`. Rejects with `ERR_CONNECT_TIMEOUT` after the timeout, `ERR_ABORTED`
   * when `signal` aborts, the reason given to {@link abortAll}, or the transport's error.
   */
  async open(target: string, signal: AbortSignal | undefined): Promise<Connection> {
    const controller = new AbortController();
    const pending: PendingConnect = {
      target,
      controller,
      cancelTimer: noop,
      abortByCaller: () =>
        controller.abort(
          new PeerlinkError(ReactorErrorCodes.ABORTED, `connect to ${target} aborted`, {
            cause: signal?.reason,
          }),
        ),
    };
    try {
      if (signal?.aborted) pending.abortByCaller();
      else if (signal !== undefined) this.watch(signal, pending);
      if (this.timeout !== Number.POSITIVE_INFINITY) {
        pending.cancelTimer = after(
          this.timers,
          this.timeout,
          () => {
            controller.abort(
              new PeerlinkError(
                ReactorErrorCodes.CONNECT_TIMEOUT,
                `connect to ${target} timed out after ${this.timeout} ms`,
              ),
            );
          },
          true,
        );
      }
      this.pending.add(pending);
      controller.signal.throwIfAborted();
      return await abortable(
        this.transport.connect(target, { signal: controller.signal }),
        controller.signal,
        closeLate,
      );
    } catch (cause) {
      throw controller.signal.aborted ? (controller.signal.reason as Error) : asError(cause);
    } finally {
      pending.cancelTimer();
      if (signal !== undefined) this.unwatch(signal, pending);
      this.pending.delete(pending);
    }
  }

  /** Has `signal` abort `pending`, through the signal's one listener. */
  private watch(signal: AbortSignal, pending: PendingConnect): void {
    let watch = this.watches.get(signal);
    if (watch === undefined) {
      const set = new Set<PendingConnect>();
      const onAbort = () => {
        for (const p of [...set]) p.abortByCaller();
      };
      watch = { pending: set, onAbort };
      this.watches.set(signal, watch);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    watch.pending.add(pending);
  }

  /** `pending` is over; the signal's listener goes with the last connect sharing it. */
  private unwatch(signal: AbortSignal, pending: PendingConnect): void {
    const watch = this.watches.get(signal);
    if (watch === undefined || !watch.pending.delete(pending) || watch.pending.size > 0) return;
    signal.removeEventListener('abort', watch.onAbort);
    this.watches.delete(signal);
  }

  /** Aborts every connect in flight: each rejects with `reason`. */
  abortAll(reason: Error): void {
    for (const pending of [...this.pending]) pending.controller.abort(reason);
  }
}

/** Closes a connection that arrived after its connect was aborted, so that nothing leaks. */
function closeLate(conn: Connection): void {
  conn.close();
}
