import { abortable, type Connection, PeerlinkError, type Transport } from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import { asError } from './util.js';

interface PendingConnect {
  readonly target: string;
  readonly controller: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The outbound connects in flight: starts each on the transport, fails it after
 * `connectTimeout`, when the caller's signal aborts, or when {@link abortAll} is called.
 */
export class Connects {
  private readonly pending = new Set<PendingConnect>();

  /**
   * @param transport Makes the connections.
   * @param timeout How long a connect may take, in milliseconds (`connectTimeout`; `Infinity`:
   *   no limit, no timer).
   */
  constructor(
    private readonly transport: Transport,
    private readonly timeout: number,
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
    const pending: PendingConnect = { target, controller, timer: undefined };
    const onAbort = () =>
      controller.abort(
        new PeerlinkError(ReactorErrorCodes.ABORTED, `connect to ${target} aborted`, {
          cause: signal?.reason,
        }),
      );
    try {
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.timeout !== Number.POSITIVE_INFINITY) {
        pending.timer = setTimeout(() => {
          controller.abort(
            new PeerlinkError(
              ReactorErrorCodes.CONNECT_TIMEOUT,
              `connect to ${target} timed out after ${this.timeout} ms`,
            ),
          );
        }, this.timeout);
        pending.timer.unref?.();
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
      clearTimeout(pending.timer);
      signal?.removeEventListener('abort', onAbort);
      this.pending.delete(pending);
    }
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
