import { type Connection, type ConnectionHandler, PeerlinkError } from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import type { ReactorTimers } from './options.js';
import { after, shutdownError, timerDelay } from './util.js';

/** What an {@link Upgrade} sees of a raw connection while it runs. */
export interface UpgradeContext {
  /** `outbound` when we connected, `inbound` when it connected to us. */
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** The target as given to `connect` (outbound connections only). */
  readonly target?: string;
  /** Aborted when the upgrade runs out of time (`upgradeTimeout`) or the reactor shuts down. */
  readonly signal: AbortSignal;
  /**
   * Reads raw bytes: exactly `length` bytes when given, else whatever arrived next (at least one
   * byte). Rejects when the connection ends or fails first, or `signal` aborts. Bytes that arrive
   * and are not read before the upgrade returns are not lost: they go to the message stream
   * (through the transform, if there is one).
   */
  read(length?: number): Promise<Uint8Array>;
  /** Writes raw bytes (a handshake message). */
  write(bytes: Uint8Array): void;
}

/**
 * Transforms the bytes of an upgraded connection in both directions (a cipher, say). Both run
 * synchronously on the reactor's path; a throw ends the connection with `ERR_UPGRADE_FAILED`
 * (the throw as `cause`), reported as the peer's `disconnected` event with reason `error`.
 */
export interface ConnectionTransform {
  /** The wire bytes for `bytes` the message stream writes. `bytes` is not used after the call. */
  encode(bytes: Uint8Array): Uint8Array;
  /**
   * The message-stream bytes for a chunk of wire bytes: may keep part of it (a cipher frame cut
   * short) and return nothing yet. `chunk` is valid only during the call.
   */
  decode(chunk: Uint8Array): Uint8Array | undefined;
}

/**
 * A step every connection passes through, inbound and outbound, before its message stream starts:
 * it may read and write raw bytes (a handshake), then resolves with how the connection's bytes are
 * to be transformed from then on (or nothing, to use the connection as it is). Rejecting, or not
 * resolving within `upgradeTimeout`, refuses the connection.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: lets an upgrade be a plain `async (c) => { ... }`.
export type Upgrade = (context: UpgradeContext) => Promise<ConnectionTransform | undefined | void>;

/** Where an upgrade stands on a raw connection: its handler until the upgrade is done. */
class Session implements ConnectionHandler {
  /** Bytes read and not yet taken by `read`, in order. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;
  ended = false;
  failure: Error | undefined;
  waiter: (() => void) | undefined;
  /** The upgraded connection, once the upgrade succeeded: every event goes to it. */
  target: Upgraded | undefined;

  onData(chunk: Uint8Array): void {
    if (this.target !== undefined) {
      this.target.data(chunk);
      return;
    }
    // The chunk is valid only during the call: keep a copy.
    this.pending.push(chunk.slice());
    this.pendingBytes += chunk.length;
    this.wake();
  }

  onDrain(): void {
    this.target?.handler?.onDrain();
  }

  onEnd(): void {
    if (this.target !== undefined) {
      this.target.remoteEnd();
      return;
    }
    this.ended = true;
    this.wake();
  }

  onClose(error: Error | undefined): void {
    if (this.target !== undefined) {
      this.target.closed(error);
      return;
    }
    this.failure =
      error ??
      new PeerlinkError(ReactorErrorCodes.UPGRADE_FAILED, 'connection closed during the upgrade');
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Takes `length` bytes (or all there are, at least one) from `pending`, or undefined. */
  take(length: number | undefined): Uint8Array | undefined {
    const want = length ?? this.pendingBytes;
    if (this.pendingBytes === 0 || this.pendingBytes < want) return undefined;
    const out = new Uint8Array(want);
    let at = 0;
    while (at < want) {
      const head = this.pending[0]!;
      const n = Math.min(head.length, want - at);
      out.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    this.pendingBytes -= want;
    return out;
  }
}

/** The connection the message stream gets after an upgrade: the raw one, through the transform. */
class Upgraded implements Connection {
  handler: ConnectionHandler | undefined;
  private paused = false;
  private done = false;
  /** Bytes that arrived during the upgrade and were not read by it. */
  private leftover: Uint8Array[];

  constructor(
    private readonly raw: Connection,
    private readonly transform: ConnectionTransform | undefined,
    leftover: Uint8Array[],
    private endPending: boolean,
  ) {
    this.leftover = leftover;
  }

  get remoteAddress(): string {
    return this.raw.remoteAddress;
  }

  get localAddress(): string {
    return this.raw.localAddress;
  }

  start(handler: ConnectionHandler): void {
    this.handler = handler;
    if (this.leftover.length > 0 || this.endPending) queueMicrotask(() => this.flushLeftover());
  }

  private flushLeftover(): void {
    while (!this.paused && !this.done && this.leftover.length > 0)
      this.data(this.leftover.shift()!);
    if (!this.paused && !this.done && this.leftover.length === 0 && this.endPending) {
      this.endPending = false;
      this.handler?.onEnd();
    }
  }

  data(chunk: Uint8Array): void {
    if (this.done || this.handler === undefined) return;
    if (this.transform === undefined) {
      this.handler.onData(chunk);
      return;
    }
    let plain: Uint8Array | undefined;
    try {
      plain = this.transform.decode(chunk);
    } catch (cause) {
      this.fail(cause);
      return;
    }
    if (plain !== undefined && plain.length > 0) this.handler.onData(plain);
  }

  remoteEnd(): void {
    if (this.leftover.length > 0) this.endPending = true;
    else this.handler?.onEnd();
  }

  closed(error: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.handler?.onClose(error);
  }

  private fail(cause: unknown): void {
    const error = new PeerlinkError(
      ReactorErrorCodes.UPGRADE_FAILED,
      'the upgraded connection failed',
      {
        cause,
      },
    );
    this.raw.close();
    this.closed(error);
  }

  write(bytes: Uint8Array): boolean {
    if (this.transform === undefined) return this.raw.write(bytes);
    let wire: Uint8Array;
    try {
      wire = this.transform.encode(bytes);
    } catch (cause) {
      queueMicrotask(() => this.fail(cause));
      return true;
    }
    return this.raw.write(wire);
  }

  pause(): void {
    this.paused = true;
    this.raw.pause();
  }

  resume(): void {
    this.paused = false;
    this.raw.resume();
    if (this.leftover.length > 0 || this.endPending) queueMicrotask(() => this.flushLeftover());
  }

  end(): void {
    this.raw.end();
  }

  reset(): void {
    this.raw.reset();
  }

  close(): void {
    this.raw.close();
  }
}

/** What the reactor knows of a connection when it upgrades it. */
export interface UpgradeInfo {
  readonly direction: 'inbound' | 'outbound';
  readonly target?: string;
}

/**
 * Runs `upgrade` on `raw` (not yet started) and resolves with the connection to use. Rejects with
 * `ERR_UPGRADE_TIMEOUT` after `timeout` ms, with `ERR_UPGRADE_FAILED` (the cause chained) when the
 * upgrade fails or the connection ends first, or with `signal`'s reason; `raw` is closed then.
 * The timeout runs on `timers` (the platform's `setTimeout`, unref'd, when `undefined`).
 */
export async function runUpgrade(
  raw: Connection,
  upgrade: Upgrade,
  info: UpgradeInfo,
  timeout: number,
  signal: AbortSignal | undefined,
  timers: ReactorTimers | undefined,
): Promise<Connection> {
  const session = new Session();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const cancelTimer = after(
    timers,
    timeout,
    () => {
      controller.abort(
        new PeerlinkError(
          ReactorErrorCodes.UPGRADE_TIMEOUT,
          `the upgrade of the connection with ${raw.remoteAddress} took longer than ${timeout} ms`,
        ),
      );
    },
    true,
  );
  const wake = () => {
    const waiter = session.waiter;
    session.waiter = undefined;
    waiter?.();
  };
  controller.signal.addEventListener('abort', wake, { once: true });
  raw.start(session);
  const context: UpgradeContext = {
    direction: info.direction,
    remoteAddress: raw.remoteAddress,
    localAddress: raw.localAddress,
    ...(info.target === undefined ? {} : { target: info.target }),
    signal: controller.signal,
    async read(length) {
      if (length !== undefined && (!Number.isSafeInteger(length) || length < 1)) {
        throw new PeerlinkError('ERR_INVALID_ARGUMENT', `read: a length of ${length}`);
      }
      for (;;) {
        controller.signal.throwIfAborted();
        const bytes = session.take(length);
        if (bytes !== undefined) return bytes;
        if (session.ended) {
          throw (
            session.failure ??
            new PeerlinkError(
              ReactorErrorCodes.UPGRADE_FAILED,
              'the connection ended during the upgrade',
            )
          );
        }
        await new Promise<void>((resolve) => {
          session.waiter = resolve;
        });
      }
    },
    write(bytes) {
      raw.write(bytes);
    },
  };
  try {
    const result = await Promise.race([
      upgrade(context),
      new Promise<never>((_, reject) => {
        const fail = () => reject(controller.signal.reason);
        if (controller.signal.aborted) fail();
        else controller.signal.addEventListener('abort', fail, { once: true });
      }),
    ]);
    controller.signal.throwIfAborted();
    if (session.failure !== undefined) throw session.failure;
    const upgraded = new Upgraded(raw, result ?? undefined, session.pending, session.ended);
    session.target = upgraded;
    return upgraded;
  } catch (cause) {
    raw.close();
    if (
      PeerlinkError.isInstance(cause) &&
      (cause.code === ReactorErrorCodes.UPGRADE_TIMEOUT || cause === signal?.reason)
    ) {
      throw cause;
    }
    if (cause === signal?.reason) throw cause;
    throw new PeerlinkError(
      ReactorErrorCodes.UPGRADE_FAILED,
      `the upgrade of the connection with ${raw.remoteAddress} failed: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  } finally {
    cancelTimer();
    signal?.removeEventListener('abort', onAbort);
    if (!controller.signal.aborted)
      controller.abort(new PeerlinkError(ReactorErrorCodes.ABORTED, 'upgrade done'));
  }
}

/**
 * The reactor's connection upgrade and the upgrades in progress (shutdown aborts them). Internal.
 */
export class Upgrades {
  private readonly running = new Set<AbortController>();

  /**
   * The reactor's `options.upgrade` with its `upgradeTimeout` (ms, default 10000; checked even
   * without an upgrade), or `undefined` when there is no upgrade. Its deadline runs on `timers`.
   */
  static of(
    options: { readonly upgrade?: Upgrade; readonly upgradeTimeout?: number },
    timers: ReactorTimers | undefined,
  ): Upgrades | undefined {
    const timeout = timerDelay('upgradeTimeout', options.upgradeTimeout ?? 10_000);
    return options.upgrade === undefined
      ? undefined
      : new Upgrades(options.upgrade, timeout, timers);
  }

  /**
   * @param upgrade The application's upgrade.
   * @param timeout Its deadline, in milliseconds (`upgradeTimeout`).
   * @param timers The reactor's injected timers the deadline runs on; `undefined`: the
   *   platform's `setTimeout`, unref'd.
   */
  constructor(
    private readonly upgrade: Upgrade,
    private readonly timeout: number,
    private readonly timers: ReactorTimers | undefined,
  ) {}

  /** Runs the connection upgrade on `conn`; shutdown (and `signal`) abort it. */
  async run(
    conn: Connection,
    info: UpgradeInfo,
    signal: AbortSignal | undefined,
  ): Promise<Connection> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.running.add(controller);
    try {
      return await runUpgrade(
        conn,
        this.upgrade,
        info,
        this.timeout,
        controller.signal,
        this.timers,
      );
    } finally {
      this.running.delete(controller);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Aborts every upgrade in progress with `ERR_SHUTDOWN`. */
  abortAll(): void {
    for (const upgrade of this.running) upgrade.abort(shutdownError());
  }
}
