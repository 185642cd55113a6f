import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Connection, ConnectionHandler } from '@peerlink/stream';
import { withCode } from './errors.js';

const noop = (): void => {};

/**
 * Adapts an established TLS socket to the {@link Connection} contract. `raw` is the TCP socket
 * under it, kept only to send a real reset (a TLS socket cannot). The TLS socket must be paused
 * (not flowing); it stays paused until {@link start}.
 *
 * Every socket listener is attached here, the `'error'` one included, and events that come
 * before `start` are held and replayed once a handler is attached.
 */
export class TlsConnection implements Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly #socket: TLSSocket;
  readonly #raw: Socket;
  #handler: ConnectionHandler | undefined;
  /** The first socket error; reported with `onClose`. */
  #error: Error | undefined;
  /** `pause()` was called (and not undone by `resume()`). */
  #paused = false;
  /** A write returned `false`: the next `'drain'` becomes `onDrain`. */
  #needDrain = false;
  /** `'drain'` came before `start`: deliver `onDrain` on start. */
  #drainHeld = false;
  /** `'end'` came before `start`: deliver `onEnd` on start. */
  #endHeld = false;
  /** `end`, `reset` or `close` was called: writes are dropped. */
  #writeClosed = false;
  /** `reset` or `close` was called: no event but `onClose` is delivered any more. */
  #closing = false;
  /** The socket emitted `'close'`. */
  #closed = false;
  /** `onClose` was delivered. */
  #reported = false;
  /** A handler call is under way (a `reset` inside `onData` may close the socket at once). */
  #inHandler = false;

  constructor(socket: TLSSocket, raw: Socket, remoteAddress: string, localAddress: string) {
    this.#socket = socket;
    this.#raw = raw;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
    socket.pause(); // adding a 'data' listener must not start the flow before `start`
    socket.on('data', (chunk: Uint8Array) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('end', () => this.#onEnd());
    socket.on('error', (error: Error) => {
      // After a local `close`/`reset` the close is ours and clean, whatever the socket says.
      if (!this.#closing) this.#error ??= error;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#report();
    });
    // The raw socket's own errors are surfaced by the TLS socket; this only keeps a late one
    // from becoming an unhandled 'error' event.
    raw.on('error', noop);
    if (socket.destroyed) this.#closed = socket.closed;
  }

  start(handler: ConnectionHandler): void {
    if (this.#handler !== undefined) return;
    this.#handler = handler;
    if (this.#closed) {
      this.#report();
      return;
    }
    if (this.#drainHeld) {
      this.#drainHeld = false;
      handler.onDrain();
    }
    if (this.#endHeld && !this.#closing) handler.onEnd();
    if (!this.#paused && !this.#closing) this.#socket.resume();
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#writeClosed || socket.destroyed || socket.writableEnded) return false;
    const ok = socket.write(bytes);
    if (!ok) this.#needDrain = true;
    return ok;
  }

  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#handler !== undefined && !this.#closing) this.#socket.resume();
  }

  end(): void {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    this.#socket.end(); // close_notify, then FIN; reading goes on until the peer ends too
  }

  reset(): void {
    if (this.#closing) return;
    this.#writeClosed = this.#closing = true;
    // A TLS socket has no reset of its own: reset the TCP socket under it. The TLS socket then
    // closes by itself; destroying it as well, at once, crashes Node 20 (use after free).
    try {
      if (!this.#raw.destroyed) return void this.#raw.resetAndDestroy();
    } catch {}
    this.#socket.destroy();
  }

  close(): void {
    if (this.#closing) return;
    this.#writeClosed = this.#closing = true;
    this.#socket.destroy();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closing || this.#reported) return;
    if (this.#handler === undefined || this.#paused) {
      // Only if `pause` raced a chunk already on its way: it goes back, first in line.
      this.#socket.unshift(chunk);
      this.#socket.pause();
      return;
    }
    const handler = this.#handler;
    this.#call(() => handler.onData(chunk)); // a TLS record: at most 16 KiB
  }

  #onDrain(): void {
    if (!this.#needDrain || this.#closing || this.#reported) return;
    this.#needDrain = false;
    if (this.#handler === undefined) this.#drainHeld = true;
    else this.#call(() => this.#handler?.onDrain());
  }

  #onEnd(): void {
    if (this.#closing || this.#reported) return;
    if (this.#handler === undefined) this.#endHeld = true;
    else this.#call(() => this.#handler?.onEnd());
  }

  /** Calls a handler method, marking the call so that a close it causes waits for its end. */
  #call(fn: () => void): void {
    this.#inHandler = true;
    try {
      fn();
    } finally {
      this.#inHandler = false;
    }
  }

  /** Delivers `onClose` once the socket closed and a handler is attached; exactly once. */
  #report(): void {
    if (this.#reported || this.#handler === undefined || !this.#closed) return;
    // Handler calls never overlap: a close caused from inside one is reported right after it.
    if (this.#inHandler) return void queueMicrotask(() => this.#report());
    this.#reported = true;
    const error = this.#error;
    this.#handler.onClose(error === undefined ? undefined : withCode(error));
  }
}
