import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PeerlinkError } from '@peerlink/codec';
import type { Connection, ConnectionHandler } from '@peerlink/stream';
import { TcpErrorCodes } from './errors.js';

/** The largest chunk handed to `onData` (the contract asks for at most 64 KiB per call). */
export const MAX_CHUNK = 64 * 1024;

/**
 * The one receive buffer shared by every socket that reads with Node's `onread` option. Safe to
 * share: `onread` callbacks run synchronously, one at a time, and the contract says a chunk is
 * valid only during `onData`, so each chunk is consumed before any other socket reads.
 */
const sharedReadBuffer = new Uint8Array(MAX_CHUNK);

const CONN = Symbol('peerlink.tcp.connection');
type Tagged = Duplex & { [CONN]?: TcpConnection };

/**
 * `onread` options for `net.connect`: reads go into {@link sharedReadBuffer} and straight to the
 * connection's handler, with no `Buffer` allocated per read. Node honours it for `net.connect`
 * (never for accepted sockets, which read through `'data'` events).
 */
export const onreadOption: { buffer: Uint8Array; callback: (n: number, b: Uint8Array) => boolean } =
  {
    buffer: sharedReadBuffer,
    callback: socketOnRead,
  };

// Module-level listeners (`this` is the socket) instead of closures: idle connections stay small.
function socketOnRead(this: Tagged, n: number, buffer: Uint8Array): boolean {
  this[CONN]?.deliver(buffer.subarray(0, n));
  return true; // `false` would pause the socket; `pause()` does that when the handler asks.
}
function socketOnData(this: Tagged, chunk: Uint8Array): void {
  this[CONN]?.data(chunk);
}
function socketOnEnd(this: Tagged): void {
  this[CONN]?.ended();
}
function socketOnDrain(this: Tagged): void {
  this[CONN]?.drain();
}
function socketOnError(this: Tagged, error: Error): void {
  const conn = this[CONN];
  if (conn !== undefined) conn.error ??= error;
}
function socketOnClose(this: Tagged): void {
  const conn = this[CONN];
  if (conn === undefined) return;
  conn.closed = true;
  conn.report();
}

function noop(): void {}

/** A `PeerlinkError` with the socket error's code (`ERR_SOCKET` if it has none), cause kept. */
function withCode(error: Error): PeerlinkError {
  if (PeerlinkError.isInstance(error)) return error;
  const code = (error as { code?: unknown }).code;
  return new PeerlinkError(typeof code === 'string' ? code : TcpErrorCodes.SOCKET, error.message, {
    cause: error,
  });
}

/**
 * Adapts a connected socket (a `net.Socket`, or any `Duplex` that behaves like one) to the
 * {@link Connection} contract. The socket must be paused; it stays paused until `start`.
 * The `'error'` listener is attached here and kept until the socket closes.
 *
 * Exported so that other transports over Node streams (TLS, pipes) can reuse it: pass a
 * connected, paused duplex and its addresses (`host:port`). `usesOnread` (default `false`) is for
 * sockets this package created with its shared `onread` buffer.
 */
export class TcpConnection implements Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** @internal */ handler: ConnectionHandler | undefined;
  /** @internal The first socket error, reported with `onClose`. */ error: Error | undefined;
  /** @internal The socket emitted `'close'`. */ closed = false;
  /** @internal `onClose` was called. */ reported = false;
  readonly #socket: Tagged;
  #paused = false;
  #drainPending = false;
  #endPending = false;
  #done = false;

  constructor(socket: Duplex, remoteAddress: string, localAddress: string, usesOnread = false) {
    this.#socket = socket as Tagged;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
    this.#socket[CONN] = this;
    socket.pause(); // before the 'data' listener, which would otherwise start the flow
    socket.on('error', socketOnError);
    socket.on('close', socketOnClose);
    socket.on('end', socketOnEnd);
    socket.on('drain', socketOnDrain);
    if (!usesOnread) socket.on('data', socketOnData);
    this.error = socket.errored ?? undefined;
    this.#endPending = socket.readableEnded;
    if (socket.destroyed && socket.closed) this.closed = true;
  }

  start(handler: ConnectionHandler): void {
    if (this.handler !== undefined) return;
    this.handler = handler;
    if (this.closed) {
      this.report();
      return;
    }
    if (this.#drainPending) {
      this.#drainPending = false;
      handler.onDrain();
    }
    if (this.#endPending) {
      this.#endPending = false;
      handler.onEnd();
    }
    if (!this.#paused && !this.reported) this.#socket.resume();
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#done || socket.destroyed || socket.writableEnded) return false;
    return socket.write(bytes);
  }

  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.handler !== undefined && !this.closed) this.#socket.resume();
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#socket.end();
  }

  reset(): void {
    this.#done = true;
    const socket = this.#socket as Tagged & Partial<Pick<Socket, 'resetAndDestroy'>>;
    if (socket.destroyed) return;
    try {
      // Only a TCP socket can send a reset; anything else (a pipe, a custom duplex) is destroyed.
      if (typeof socket.resetAndDestroy === 'function') return void socket.resetAndDestroy();
    } catch {}
    socket.destroy();
  }

  close(): void {
    this.#done = true;
    this.#socket.destroy();
  }

  /** @internal Bytes from `onread`: at most {@link MAX_CHUNK}, valid only during this call. */
  deliver(chunk: Uint8Array): void {
    if (this.handler !== undefined && !this.reported) this.handler.onData(chunk);
  }

  /** @internal A `'data'` chunk: split to {@link MAX_CHUNK}; a remainder left by `pause` goes back. */
  data(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.reported) return;
      if (this.#paused || this.handler === undefined) {
        // Not wanted now: back to the stream, first in line (paused, so it stays buffered).
        this.#socket.pause();
        this.#socket.unshift(chunk.subarray(offset));
        return;
      }
      const end = Math.min(chunk.length, offset + MAX_CHUNK);
      this.deliver(offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end));
      offset = end;
    }
  }

  /** @internal The remote finished sending; held until `start` if it comes before. */
  ended(): void {
    if (this.reported) return;
    if (this.handler === undefined) this.#endPending = true;
    else this.handler.onEnd();
  }

  /** @internal */
  drain(): void {
    if (this.reported) return;
    if (this.handler === undefined) this.#drainPending = true;
    else this.handler.onDrain();
  }

  /** @internal Reports `onClose` once the socket closed and a handler is attached; exactly once. */
  report(): void {
    if (this.reported || this.handler === undefined || !this.closed) return;
    this.reported = true;
    const socket = this.#socket;
    socket.off('data', socketOnData);
    socket.off('end', socketOnEnd);
    socket.off('drain', socketOnDrain);
    // The error listener stays: a late error must never become an unhandled 'error' event.
    socket.on('error', noop);
    socket.off('error', socketOnError);
    this.handler.onClose(this.error === undefined ? undefined : withCode(this.error));
  }
}
