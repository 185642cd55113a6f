import net from 'node:net';
import type { Connection, ConnectionHandler, Listener, Transport } from '@peerlink/stream';

/** A handler that records everything a connection reports, with promises to wait on. */
export interface Recorder extends ConnectionHandler {
  readonly chunks: Uint8Array[];
  readonly events: string[];
  /** Bytes received so far, concatenated. */
  bytes(): Uint8Array;
  received: number;
  /** Resolves once at least `n` bytes have arrived. */
  waitFor(n: number): Promise<void>;
  readonly ended: Promise<void>;
  readonly closed: Promise<Error | undefined>;
  readonly drained: () => Promise<void>;
  /** Called after each chunk is recorded (to pause, for example). */
  afterData?: (chunk: Uint8Array) => void;
}

export function recorder(): Recorder {
  let endResolve!: () => void;
  let closeResolve!: (e: Error | undefined) => void;
  const ended = new Promise<void>((r) => (endResolve = r));
  const closed = new Promise<Error | undefined>((r) => (closeResolve = r));
  const waiters: { n: number; resolve: () => void }[] = [];
  let drainWaiters: (() => void)[] = [];
  const rec: Recorder = {
    chunks: [],
    events: [],
    received: 0,
    bytes() {
      return Buffer.concat(rec.chunks);
    },
    waitFor(n) {
      if (rec.received >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    ended,
    closed,
    drained() {
      return new Promise((r) => drainWaiters.push(r));
    },
    onData(chunk) {
      if (rec.events.includes('close')) throw new Error('onData after onClose');
      rec.chunks.push(Uint8Array.from(chunk));
      rec.received += chunk.length;
      rec.afterData?.(chunk);
      for (const w of waiters.filter((w) => rec.received >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    onDrain() {
      rec.events.push('drain');
      const ws = drainWaiters;
      drainWaiters = [];
      for (const w of ws) w();
    },
    onEnd() {
      rec.events.push('end');
      endResolve();
    },
    onClose(error) {
      if (rec.events.includes('close')) throw new Error('onClose twice');
      rec.events.push('close');
      closeResolve(error);
    },
  };
  return rec;
}

/** A listener whose accepted connections queue up for `next()`. */
export interface Accepting {
  readonly listener: Listener;
  readonly errors: Error[];
  next(): Promise<Connection>;
}

export async function accepting(transport: Transport, address: string): Promise<Accepting> {
  const queue: Connection[] = [];
  const takers: ((c: Connection) => void)[] = [];
  const errors: Error[] = [];
  const listener = await transport.listen(address, {
    onConnection(connection) {
      const taker = takers.shift();
      if (taker) taker(connection);
      else queue.push(connection);
    },
    onError(error) {
      errors.push(error);
    },
  });
  return {
    listener,
    errors,
    next() {
      const c = queue.shift();
      if (c) return Promise.resolve(c);
      return new Promise((r) => takers.push(r));
    },
  };
}

/** Listens with `server` on 127.0.0.1:0, closes it with `cleanup`, and returns the bound port. */
export async function listenLoopback(server: net.Server, cleanup: Cleanup): Promise<number> {
  cleanup.add(() => new Promise<void>((r) => server.close(() => r())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on (bound on port 0, then closed). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A deterministic pattern of `n` bytes. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return out;
}

/** Runs `fn` for every item and collects cleanups, run in reverse by `cleanup()`. */
export class Cleanup {
  readonly #tasks: (() => unknown)[] = [];
  add(task: () => unknown): void {
    this.#tasks.push(task);
  }
  conn(c: Connection): Connection {
    this.add(() => c.close());
    return c;
  }
  async run(): Promise<void> {
    for (const task of this.#tasks.splice(0).reverse()) await task();
  }
}
