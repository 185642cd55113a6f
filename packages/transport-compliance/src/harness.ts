/**
 * The suite's fixtures: a recording {@link ConnectionHandler} that checks the contract's calling
 * rules as events arrive, and a per-test environment that owns every transport, listener and
 * connection the test opens and releases them afterwards. Waits are event driven; the only timers
 * are failure guards.
 */
import type {
  Connection,
  ConnectionHandler,
  Listener,
  ListenHandler,
  Transport,
} from '@peerlink/stream';
import { codeOf } from '@peerlink/stream';
import { ByteCollector } from './bytes.js';
import type { ResolvedOptions } from './options.js';

/** A recorded contract violation, reported when the test ends. */
type Violations = string[];

/** Throws `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * Waits until `predicate()` holds, re-checking whenever `subscribe`'s callback fires. Rejects
 * after `timeout` ms with `what` and the current `state()` in the message.
 */
function waitFor(
  waiters: Set<() => void>,
  predicate: () => boolean,
  what: string,
  timeout: number,
  state: () => string,
): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const waiter = (): void => {
      if (!predicate()) return;
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`timed out after ${timeout} ms waiting for ${what} (${state()})`));
    }, timeout);
    waiters.add(waiter);
  });
}

/** A step of the suite that did not settle within the `timeout` option. */
export class StepTimeout extends Error {
  constructor(step: string, timeout: number) {
    super(`timed out after ${timeout} ms: ${step} never settled`);
    this.name = 'StepTimeout';
  }
}

/**
 * Settles as `promise` does, or rejects after `timeout` ms with an error naming `step`: every
 * await on the transport under test goes through it, so that a call that never settles (a
 * `listener.close()` that waits for its connections, a connect that hangs) fails the test with
 * the step's name instead of hanging it.
 */
export function bounded<T>(promise: T | Promise<T>, step: string, timeout: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StepTimeout(step, timeout)), timeout);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * One side of a connection under test: its handler records every event, copies received bytes,
 * and notes every breach of the calling rules (events after `onClose`, two `onClose`, `onData`
 * after `onEnd` or while paused, `onDrain` without a refused write, overlapping calls).
 */
export class Side implements ConnectionHandler {
  readonly connection: Connection;
  readonly label: string;
  /** Every byte delivered through `onData`, copied. */
  readonly received = new ByteCollector();
  /** Number of `onData` calls and the largest chunk seen, in bytes. */
  dataCalls = 0;
  largestChunk = 0;
  drains = 0;
  ends = 0;
  closes = 0;
  /** The error `onClose` reported (`undefined` for a clean close or before it). */
  closeError: Error | undefined;
  /** `false` returns from {@link write} (each one allows one `onDrain`). */
  refusedWrites = 0;
  /** Whether the test paused this side (cleared by `resume`). */
  paused = false;
  /** Whether `start` was called (then `onClose` is expected before the test ends). */
  started = false;
  /** Called at the end of each `onData`, after recording (tests pause or close from here). */
  onDataHook: ((chunk: Uint8Array) => void) | undefined;
  /** Called from `onEnd`, after recording. */
  onEndHook: (() => void) | undefined;
  #drainOwed = false;
  #inCall: string | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #violations: Violations;
  readonly #timeout: number;

  constructor(connection: Connection, label: string, violations: Violations, timeout: number) {
    this.connection = connection;
    this.label = label;
    this.#violations = violations;
    this.#timeout = timeout;
  }

  /** Starts the connection with this side as its handler. */
  start(): this {
    this.started = true;
    this.connection.start(this);
    return this;
  }

  /** `connection.write`, counting refusals so that `onDrain` can be checked. */
  write(bytes: Uint8Array, release?: (bytes: Uint8Array) => void): boolean {
    const ok = this.connection.write(bytes, release);
    if (typeof ok !== 'boolean') this.#violate(`write returned ${typeof ok}, not a boolean`);
    if (!ok) {
      this.refusedWrites++;
      this.#drainOwed = true;
    }
    return ok;
  }

  /** Writes every part in order, waiting for `onDrain` whenever a write returns `false`. */
  async writeAll(
    parts: readonly Uint8Array[],
    release?: (bytes: Uint8Array) => void,
  ): Promise<void> {
    for (const part of parts) {
      if (this.closes > 0) throw new Error(`${this.label}: closed while writing`);
      if (!this.write(part, release)) await this.drained();
    }
  }

  /** Pauses delivery (and remembers it, so `onData` while paused is a violation). */
  pause(): void {
    this.paused = true;
    this.connection.pause();
  }

  /** Resumes delivery. */
  resume(): void {
    this.paused = false;
    this.connection.resume();
  }

  /** Resolves once `onDrain` followed the latest refused write. */
  drained(): Promise<void> {
    const target = this.refusedWrites;
    return this.until(() => !this.#drainOwed || this.closes > 0, `onDrain after write #${target}`);
  }

  /** Resolves once at least `bytes` bytes were received. */
  receivedAtLeast(bytes: number): Promise<void> {
    return this.until(() => this.received.length >= bytes, `${bytes} bytes received`);
  }

  /** Resolves once `onEnd` came. */
  ended(): Promise<void> {
    return this.until(() => this.ends > 0, 'onEnd');
  }

  /** Resolves once `onClose` came. */
  closed(): Promise<void> {
    return this.until(() => this.closes > 0, 'onClose');
  }

  /** Resolves once `onEnd` or `onClose` came (what a remote `close` may produce). */
  endedOrClosed(): Promise<void> {
    return this.until(() => this.ends > 0 || this.closes > 0, 'onEnd or onClose');
  }

  /** Resolves when `predicate` holds; re-checked after every event on this side. */
  until(predicate: () => boolean, what: string): Promise<void> {
    return waitFor(this.#waiters, predicate, `${this.label}: ${what}`, this.#timeout, () =>
      this.describe(),
    );
  }

  /** A one-line summary of this side's state, for failure messages. */
  describe(): string {
    return (
      `${this.label}: ${this.received.length} bytes in ${this.dataCalls} onData, ` +
      `${this.ends} onEnd, ${this.drains} onDrain, ${this.refusedWrites} refused writes, ` +
      `${this.closes} onClose${this.closeError ? ` (${codeOf(this.closeError) ?? this.closeError.message})` : ''}`
    );
  }

  onData(chunk: Uint8Array): void {
    this.#enter('onData');
    try {
      if (!(chunk instanceof Uint8Array)) this.#violate('onData chunk is not a Uint8Array');
      if (this.closes > 0) this.#violate('onData after onClose');
      if (this.ends > 0) this.#violate('onData after onEnd');
      if (this.paused) this.#violate('onData while paused');
      if (chunk.length === 0) this.#violate('onData with an empty chunk');
      this.dataCalls++;
      if (chunk.length > this.largestChunk) this.largestChunk = chunk.length;
      this.received.append(chunk);
      this.onDataHook?.(chunk);
    } finally {
      this.#leave();
    }
  }

  onDrain(): void {
    this.#enter('onDrain');
    try {
      if (this.closes > 0) this.#violate('onDrain after onClose');
      if (!this.#drainOwed) this.#violate('onDrain without a write that returned false');
      this.#drainOwed = false;
      this.drains++;
    } finally {
      this.#leave();
    }
  }

  /** Progress of a write in flight: only while an `onDrain` is owed. */
  progress = 0;

  onProgress(): void {
    this.#enter('onProgress');
    try {
      if (this.closes > 0) this.#violate('onProgress after onClose');
      if (!this.#drainOwed) this.#violate('onProgress without a write that returned false');
      this.progress++;
    } finally {
      this.#leave();
    }
  }

  onEnd(): void {
    this.#enter('onEnd');
    try {
      if (this.closes > 0) this.#violate('onEnd after onClose');
      if (this.ends > 0) this.#violate('onEnd called twice');
      this.ends++;
      this.onEndHook?.();
    } finally {
      this.#leave();
    }
  }

  onClose(error: Error | undefined): void {
    this.#enter('onClose');
    try {
      if (this.closes > 0) this.#violate('onClose called twice');
      if (error !== undefined && !(error instanceof Error)) {
        this.#violate(`onClose with a non-Error ${String(error)}`);
      }
      this.closes++;
      if (this.closes === 1) this.closeError = error;
    } finally {
      this.#leave();
    }
  }

  #enter(name: string): void {
    if (!this.started) this.#violate(`${name} before start`);
    if (this.#inCall !== undefined) this.#violate(`${name} called inside ${this.#inCall}`);
    this.#inCall = name;
  }

  #leave(): void {
    this.#inCall = undefined;
    for (const waiter of [...this.#waiters]) waiter();
  }

  #violate(message: string): void {
    this.#violations.push(`${this.label}: ${message}`);
  }
}

/** A connected pair: `client` dialed, `server` was accepted. Both started. */
export interface Pair {
  readonly client: Side;
  readonly server: Side;
}

/** A listener opened through {@link Env.listen}, with its queue of accepted connections. */
export interface OpenListener {
  readonly listener: Listener;
  /** The address a dialer uses to reach it. */
  readonly target: string;
  /** The next accepted connection (not started). */
  accept(): Promise<Connection>;
  /** Connections accepted so far. */
  readonly accepted: number;
}

/**
 * Everything one test opened. {@link dispose} closes all of it, waits for each started side's
 * `onClose`, and throws if any contract violation was recorded during the test.
 */
export class Env {
  readonly options: ResolvedOptions;
  readonly listenerTransport: Transport;
  readonly dialerTransport: Transport;
  readonly violations: Violations = [];
  readonly #sides: Side[] = [];
  readonly #connections: Connection[] = [];
  readonly #listeners: Listener[] = [];
  #main: OpenListener | undefined;
  #clock: Pair | undefined;
  readonly #background: Promise<unknown>[] = [];
  #count = 0;

  private constructor(options: ResolvedOptions, listener: Transport, dialer: Transport) {
    this.options = options;
    this.listenerTransport = listener;
    this.dialerTransport = dialer;
  }

  /** Creates the two transports of a test. */
  static async create(options: ResolvedOptions): Promise<Env> {
    const { timeout } = options;
    const listener = await bounded(
      options.createTransport('listener'),
      "setup: createTransport('listener')",
      timeout,
    );
    const dialer = await bounded(
      options.createTransport('dialer'),
      "setup: createTransport('dialer')",
      timeout,
    );
    return new Env(options, listener, dialer);
  }

  /** `listener.close()`, bounded by the timeout. */
  closeListener(
    listener: Listener,
    step = `listener.close() of ${listener.address}`,
  ): Promise<void> {
    return bounded(listener.close(), step, this.options.timeout);
  }

  /**
   * Listens on `address` (default `listenAddress`), queueing accepted connections for
   * {@link OpenListener.accept}; with `autoClose`, each accepted connection is instead started
   * and closed as soon as it ends (for tests whose connects may or may not reach the listener).
   */
  async listen(address = this.options.listenAddress, autoClose = false): Promise<OpenListener> {
    const queue: Connection[] = [];
    const waiters = new Set<() => void>();
    let accepted = 0;
    const handler: ListenHandler = {
      onConnection: (connection) => {
        accepted++;
        this.#connections.push(connection);
        if (autoClose) {
          const side = this.side(connection, `auto-closed#${accepted}`);
          side.onEndHook = () => connection.close();
          side.start();
          return;
        }
        queue.push(connection);
        for (const waiter of [...waiters]) waiter();
      },
      onError: () => {},
    };
    const { timeout } = this.options;
    const listener = await bounded(
      this.listenerTransport.listen(address, handler),
      `listen(${JSON.stringify(address)})`,
      timeout,
    );
    this.#listeners.push(listener);
    return {
      listener,
      target: this.options.dialAddress(listener.address),
      get accepted() {
        return accepted;
      },
      async accept() {
        await waitFor(
          waiters,
          () => queue.length > 0,
          'an accepted connection',
          timeout,
          () => String(accepted),
        );
        return queue.shift()!;
      },
    };
  }

  /** The listener most tests share, opened on first use. */
  async mainListener(): Promise<OpenListener> {
    this.#main ??= await this.listen();
    return this.#main;
  }

  /** Dials `target`, tracking the connection for cleanup. */
  async connect(target: string, signal?: AbortSignal): Promise<Connection> {
    const connection = await bounded(
      this.dialerTransport.connect(target, signal === undefined ? {} : { signal }),
      `connect(${JSON.stringify(target)})`,
      this.options.timeout,
    );
    this.#connections.push(connection);
    return connection;
  }

  /** Wraps a connection in a recording {@link Side} (not started). */
  side(connection: Connection, label: string): Side {
    const side = new Side(connection, label, this.violations, this.options.timeout);
    this.#sides.push(side);
    return side;
  }

  /**
   * Dials the main listener and accepts: a fresh pair. `startServer: false` leaves the server
   * side unstarted (for tests of what happens before `start`).
   */
  async pair(startServer = true): Promise<Pair> {
    const main = await this.mainListener();
    const n = ++this.#count;
    const client = this.side(await this.connect(main.target), `client#${n}`).start();
    const server = this.side(await main.accept(), `server#${n}`);
    if (startServer) server.start();
    return { client, server };
  }

  /**
   * One byte there and back over a separate pair: a point in time after which bytes written
   * before it on another connection have had every chance to arrive. Used to check that nothing
   * arrives (while paused) without sleeping.
   */
  async roundTrip(): Promise<void> {
    if (this.#clock === undefined) {
      const open = await this.listen();
      const client = this.side(await this.connect(open.target), 'clock-client').start();
      const server = this.side(await open.accept(), 'clock-server').start();
      this.#clock = { client, server };
    }
    const { client, server } = this.#clock;
    const target = server.received.length + 1;
    client.write(new Uint8Array([1]));
    await server.receivedAtLeast(target);
    server.write(new Uint8Array([2]));
    await client.receivedAtLeast(target);
  }

  /** Runs `task` alongside the test; {@link dispose} waits for it and reports its failure. */
  background(task: Promise<unknown>): void {
    this.#background.push(
      task.catch((error: unknown) => {
        this.violations.push(
          `background task failed: ${String((error as Error)?.message ?? error)}`,
        );
      }),
    );
  }

  /** Closes everything, waits for every `onClose`, and throws on recorded violations. */
  async dispose(): Promise<void> {
    const problems: string[] = [];
    const { timeout } = this.options;
    try {
      await bounded(Promise.all(this.#background), 'cleanup: background tasks', timeout);
    } catch (error) {
      problems.push(String((error as Error).message));
    }
    for (const connection of this.#connections) {
      try {
        connection.close();
      } catch (error) {
        problems.push(`close() threw: ${String(error)}`);
      }
    }
    const waits = await Promise.allSettled(
      this.#sides.filter((side) => side.started).map((side) => side.closed()),
    );
    for (const wait of waits) {
      if (wait.status === 'rejected') problems.push(String((wait.reason as Error).message));
    }
    for (const listener of this.#listeners) {
      try {
        await this.closeListener(listener, `cleanup: listener.close() of ${listener.address}`);
      } catch (error) {
        problems.push(`listener.close() rejected: ${String((error as Error)?.message ?? error)}`);
      }
    }
    const { destroyTransport } = this.options;
    if (destroyTransport !== undefined) {
      const transports = [this.listenerTransport];
      if (this.dialerTransport !== this.listenerTransport) transports.push(this.dialerTransport);
      for (const transport of transports) {
        try {
          await bounded(destroyTransport(transport), 'cleanup: destroyTransport', timeout);
        } catch (error) {
          problems.push(String((error as Error)?.message ?? error));
        }
      }
    }
    problems.push(...this.violations);
    if (problems.length > 0) {
      throw new Error(`transport contract violations:\n  ${problems.join('\n  ')}`);
    }
  }
}

/** Awaits `promise` and returns what it rejected with; throws if it resolved. */
export async function rejectionOf(
  promise: Promise<unknown>,
  what: string,
  timeout: number,
  onResolved?: (value: unknown) => void,
): Promise<unknown> {
  let value: unknown;
  try {
    value = await bounded(promise, what, timeout);
  } catch (error) {
    if (error instanceof StepTimeout) throw error;
    return error;
  }
  onResolved?.(value);
  throw new Error(`${what}: resolved, expected a rejection`);
}
