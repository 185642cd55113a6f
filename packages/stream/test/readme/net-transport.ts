import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type Connection,
  type ConnectionHandler,
  type ConnectOptions,
  formatAddress,
  type Listener,
  type ListenHandler,
  MAX_DATA_CHUNK,
  PeerlinkError,
  parseAddress,
  type Transport,
} from '@peerlink/stream';

/** A Connection over a Node duplex (a socket): the rules of the contract, one by one. */
export class DuplexConnection implements Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly #socket: Duplex;
  #handler: ConnectionHandler | undefined;
  #error: Error | undefined;
  #sawClose = false; // the socket closed (maybe before start)
  #reported = false; // onClose was called: no handler call after it
  #paused = false;
  #done = false; // end, reset or close was called: writes are dropped

  constructor(socket: Duplex, remoteAddress: string, localAddress: string) {
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
    socket.pause(); // nothing is delivered before start
    // Attached at once and kept: an early error is remembered, never an unhandled 'error'.
    socket.on('error', (error) => {
      this.#error ??= error;
    });
    socket.on('close', () => {
      this.#sawClose = true;
      this.#report();
    });
  }

  start(handler: ConnectionHandler): void {
    if (this.#handler !== undefined) {
      throw new PeerlinkError('ERR_ALREADY_STARTED', 'connection already started');
    }
    this.#handler = handler;
    const socket = this.#socket;
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('end', () => {
      if (!this.#reported) handler.onEnd();
    });
    socket.on('drain', () => {
      if (!this.#reported) handler.onDrain();
    });
    if (this.#sawClose)
      this.#report(); // closed before start: report it now
    else if (!this.#paused) socket.resume();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#done || this.#socket.destroyed) return false; // dropped
    return this.#socket.write(bytes); // takes them whole; false = wait for onDrain
  }

  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#handler !== undefined && !this.#sawClose) this.#socket.resume();
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#socket.end(); // written bytes go first, then the remote sees end of stream
  }

  reset(): void {
    this.#done = true;
    const socket = this.#socket as Duplex & { resetAndDestroy?: () => void };
    if (socket.destroyed) return;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  close(): void {
    this.#done = true;
    this.#socket.destroy();
  }

  #data(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      if (this.#reported) return;
      if (this.#paused) {
        this.#socket.unshift(chunk.subarray(at)); // no onData after pause(): keep the rest
        return;
      }
      const end = Math.min(chunk.length, at + MAX_DATA_CHUNK);
      this.#handler?.onData(chunk.subarray(at, end));
      at = end;
    }
  }

  #report(): void {
    if (this.#reported || this.#handler === undefined || !this.#sawClose) return;
    this.#reported = true;
    this.#handler.onClose(this.#error); // exactly once, last; the error keeps its `code`
  }
}

function wrap(socket: net.Socket): DuplexConnection {
  return new DuplexConnection(
    socket,
    formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0),
    formatAddress(socket.localAddress ?? '?', socket.localPort ?? 0),
  );
}

/** A minimal TCP transport: listen and connect, with abort. */
export const netTransport: Transport = {
  listen(address: string, handler: ListenHandler): Promise<Listener> {
    const { host, port } = parseAddress(address);
    return new Promise((resolve, reject) => {
      // allowHalfOpen: after the remote's end we can still write (the contract's half-close).
      const options = { allowHalfOpen: true, pauseOnConnect: true, noDelay: true };
      const server = net.createServer(options, (socket) => handler.onConnection(wrap(socket)));
      server.once('error', reject); // e.g. EADDRINUSE: nothing stays open
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (error) => handler.onError?.(error));
        const bound = server.address() as net.AddressInfo;
        resolve({
          address: formatAddress(bound.address, bound.port),
          close: () => {
            // Stops accepting. Not awaited: server.close's callback waits for every accepted
            // connection to close, and the contract says those are not affected.
            server.close();
            return Promise.resolve();
          },
        });
      });
    });
  },

  connect(target: string, options: ConnectOptions = {}): Promise<Connection> {
    const { signal } = options;
    const { host, port } = parseAddress(target);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const socket = net.connect({ host, port, noDelay: true, allowHalfOpen: true });
      socket.pause();
      const onAbort = () => {
        socket.destroy(); // release what we opened
        reject(signal?.reason);
      };
      const onError = (error: Error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error); // carries its `code`, e.g. ECONNREFUSED
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        const conn = wrap(socket); // attaches the lasting error listener first
        socket.off('error', onError);
        resolve(conn);
      });
    });
  },
};
