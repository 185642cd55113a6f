/**
 * The suite's per-test environment: it owns every transport, listener and connection the test
 * opens (each connection's handler a recording {@link Side}) and releases them afterwards. Waits
 * are event driven; the only timers are failure guards.
 */
import type { Connection, Listener, ListenHandler, Transport } from '@peerlink/stream';
import type { ResolvedOptions } from './options.js';
import { Side } from './side.js';
import { bounded, type Violations, waitFor } from './steps.js';

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
