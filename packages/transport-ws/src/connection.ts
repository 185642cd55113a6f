import {
  type Connection,
  type ConnectionHandler,
  MAX_DATA_CHUNK,
  PeerlinkError,
} from '@peerlink/stream';
import { closeError, END_MARKER, WsCloseError, WsErrorCodes } from './errors.js';

/**
 * @internal What a {@link WsConnection} needs from the socket under it: `ws`'s `WebSocket` in
 * Node, the built-in one in a browser. The two environments differ only here.
 */
export interface WsIo {
  /** Sends one binary frame; `false` when more than the high-water mark is buffered. */
  send(bytes: Uint8Array): boolean;
  /** Sends one text frame (only the end marker). */
  sendText(text: string): void;
  /** Starts the closing handshake with `code`. */
  close(code: number): void;
  /** Resets the TCP connection (Node), or closes with the reset code (a browser cannot reset). */
  reset(): void;
  /** Stops reading from the network (a browser cannot: it keeps delivering into the queue). */
  pause(): void;
  /** Reads from the network again. */
  resume(): void;
}

/**
 * A {@link Connection} over one WebSocket. Environment-neutral: the socket glue feeds it
 * {@link message}, {@link text}, {@link drain} and {@link closed}, and it talks back through a
 * {@link WsIo}. Binary frames carry the bytes (a frame boundary means nothing); a text frame
 * holding {@link END_MARKER} is the half-close of `end()`; once both sides ended, either closes
 * with 1000.
 */
export class WsConnection implements Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly #io: WsIo;
  readonly #frameSize: number;
  #handler: ConnectionHandler | undefined;
  /** Received bytes not yet delivered (before `start`, while paused, or behind a split chunk). */
  #queue: Uint8Array[] = [];
  #paused = false;
  #delivering = false;
  #scheduled = false;
  /** `end`, `close` or `reset` was called: writes are dropped. */
  #done = false;
  /** `end` was called. */
  #ended = false;
  /** `close` or `reset` was called: nothing more is delivered, `onClose(undefined)` follows. */
  #dropped = false;
  /** The peer ended (its end marker, or a clean close frame). */
  #gotEnd = false;
  #endDelivered = false;
  /** A write returned `false` and no `onDrain` has followed yet. */
  #blocked = false;
  /** The socket is closed: `undefined` until then, then `{ error }`. */
  #closed: { error: Error | undefined } | undefined;
  #reported = false;
  /** The first WebSocket error seen (a protocol violation; Node's `ws` reports it before the close). */
  #error: Error | undefined;
  /** The first error of the TCP socket under it (Node). */
  #socketError: Error | undefined;

  readonly #droppedIsEnd: boolean;

  /**
   * `droppedIsEnd`: a close without a close frame (1006) and without a socket error is an end of
   * stream (Node, which sees the socket's errors), not a reset (a browser, which sees nothing).
   */
  constructor(
    io: WsIo,
    remoteAddress: string,
    localAddress: string,
    frameSize: number,
    droppedIsEnd: boolean,
  ) {
    this.#io = io;
    this.#droppedIsEnd = droppedIsEnd;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
    this.#frameSize = frameSize;
  }

  start(handler: ConnectionHandler): void {
    if (this.#handler !== undefined) {
      // As in every adapter (the contract; the compliance suite checks it).
      throw new PeerlinkError('ERR_ALREADY_STARTED', 'connection already started');
    }
    this.#handler = handler;
    this.#schedule();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#done || this.#closed !== undefined) return false;
    let ok = true;
    const size = this.#frameSize;
    if (bytes.length <= size) {
      if (bytes.length > 0) ok = this.#io.send(bytes);
    } else {
      for (let at = 0; at < bytes.length; at += size)
        ok = this.#io.send(bytes.subarray(at, Math.min(bytes.length, at + size)));
    }
    if (!ok) this.#blocked = true;
    return ok;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    // Once closing, the peer's close frame must still be read.
    if (this.#closed === undefined && !this.#dropped) this.#io.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#closed === undefined && !this.#dropped) this.#io.resume();
    this.#schedule();
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#ended = true;
    if (this.#closed !== undefined) return;
    this.#io.sendText(END_MARKER);
    if (this.#gotEnd) this.#io.close(1000);
  }

  reset(): void {
    this.#drop(true);
  }

  close(): void {
    this.#drop(false);
  }

  #drop(reset: boolean): void {
    if (this.#dropped) return;
    this.#done = true;
    this.#dropped = true;
    this.#queue = [];
    if (this.#closed === undefined) {
      this.#io.resume(); // so that the peer's close frame is read
      if (reset) this.#io.reset();
      else this.#io.close(1000);
    } else this.#schedule();
  }

  /** @internal A binary frame arrived. */
  message(bytes: Uint8Array): void {
    if (this.#dropped || this.#closed !== undefined || bytes.length === 0) return;
    this.#queue.push(bytes);
    if (this.#queue.length === 1 && !this.#paused && this.#handler !== undefined) this.#deliver();
  }

  /** @internal A text frame arrived: the end marker, or a protocol violation. */
  text(text: string): void {
    if (this.#dropped || this.#closed !== undefined || this.#gotEnd) return;
    if (text !== END_MARKER) {
      this.#error = new WsCloseError(WsErrorCodes.PROTOCOL, 1003, 'unexpected text frame');
      this.#io.close(1003);
      return;
    }
    this.#gotEnd = true;
    if (this.#ended) this.#io.close(1000);
    if (this.#handler !== undefined) this.#schedule();
  }

  /** @internal The socket can take more after a blocked write. */
  drain(): void {
    if (!this.#blocked || this.#reported || this.#handler === undefined) return;
    this.#blocked = false;
    this.#handler.onDrain();
  }

  /** @internal The socket reported an error; the close follows. */
  error(error: Error): void {
    this.#error ??= error;
  }

  /** @internal The TCP socket under it failed (Node): what a close without a close frame means. */
  socketError(error: Error): void {
    this.#socketError ??= error;
  }

  /** @internal The socket closed with `code` (1006: without a close frame). */
  closed(code: number, reason: string): void {
    if (this.#closed !== undefined) return;
    let error: Error | undefined;
    if (!this.#dropped && !(this.#ended && this.#gotEnd)) {
      error =
        this.#error ??
        (code === 1006 ? this.#socketError : undefined) ??
        closeError(code, reason, this.#droppedIsEnd);
      if (error === undefined) this.#gotEnd = true; // a clean close is an end of stream
    }
    this.#closed = { error };
    if (error !== undefined) this.#queue = []; // an error does not wait behind the data
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#handler === undefined) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }

  /** Delivers what is queued (at most 64 KiB per call), then `onEnd`, then `onClose`. */
  #deliver(): void {
    const handler = this.#handler;
    if (handler === undefined || this.#delivering || this.#reported) return;
    this.#delivering = true;
    try {
      while (!this.#paused && !this.#dropped && this.#queue.length > 0 && !this.#reported) {
        const queue = this.#queue;
        const chunk = queue[0] as Uint8Array;
        if (chunk.length <= MAX_DATA_CHUNK) {
          queue.shift();
          handler.onData(chunk);
        } else {
          queue[0] = chunk.subarray(MAX_DATA_CHUNK);
          handler.onData(chunk.subarray(0, MAX_DATA_CHUNK));
        }
      }
      if (this.#reported) return;
      const drained = this.#queue.length === 0 && !this.#paused;
      if (this.#gotEnd && !this.#endDelivered && drained && !this.#dropped) {
        this.#endDelivered = true;
        handler.onEnd();
      }
      const closed = this.#closed;
      if (closed === undefined || this.#reported) return;
      if (closed.error !== undefined || this.#dropped || (drained && this.#endDelivered)) {
        this.#reported = true;
        this.#queue = [];
        handler.onClose(closed.error);
      }
    } finally {
      this.#delivering = false;
    }
  }
}
