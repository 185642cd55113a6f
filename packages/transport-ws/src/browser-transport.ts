import {
  type Connection,
  type ConnectOptions,
  PeerlinkError,
  parseAddress,
  type Transport,
} from '@peerlink/stream';
import { WsConnection, type WsIo } from './connection.js';
import { RESET_CLOSE_CODE, WsErrorCodes } from './errors.js';
import { type ResolvedOptions, resolveOptions, type WebSocketTransportOptions } from './options.js';

/** Options of the browser `webSocketTransport`: the common ones plus the drain poll. */
export interface BrowserWebSocketTransportOptions extends WebSocketTransportOptions {
  /**
   * How often a blocked connection checks `WebSocket.bufferedAmount`, in milliseconds. Default 4.
   * The WebSocket API has no drain event, so after a `write` returned `false` the connection
   * polls with `setTimeout` until `bufferedAmount` is at most half the `highWaterMark`, then
   * calls `onDrain`; it polls only while blocked.
   */
  drainInterval?: number;
}

/** The `localAddress` of every browser connection (a page cannot know its own). */
export const BROWSER_LOCAL_ADDRESS = 'browser:0';

/** The built-in WebSocket glue: backpressure by polling `bufferedAmount`. */
class BrowserIo implements WsIo {
  conn!: WsConnection;
  readonly #ws: WebSocket;
  readonly #highWaterMark: number;
  readonly #interval: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ws: WebSocket, highWaterMark: number, interval: number) {
    this.#ws = ws;
    this.#highWaterMark = highWaterMark;
    this.#interval = interval;
  }

  attach(): void {
    const ws = this.#ws;
    ws.onerror = null; // the close event that follows carries the code
    ws.onmessage = (event: MessageEvent) => {
      const data = event.data as ArrayBuffer | string;
      if (typeof data === 'string') this.conn.text(data);
      else this.conn.message(new Uint8Array(data));
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.conn.closed(event.code, event.reason);
    };
  }

  send(bytes: Uint8Array): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false; // closing: dropped, onClose follows
    this.#ws.send(bytes as Uint8Array<ArrayBuffer>); // never a SharedArrayBuffer here
    if (this.#ws.bufferedAmount <= this.#highWaterMark) return true;
    this.#poll();
    return false;
  }

  #poll(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#ws.readyState !== WebSocket.OPEN) return;
      if (this.#ws.bufferedAmount <= this.#highWaterMark >> 1) this.conn.drain();
      else this.#poll();
    }, this.#interval);
  }

  sendText(text: string): void {
    this.#ws.send(text);
  }

  close(code: number): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(code);
  }

  reset(): void {
    // A page cannot drop a TCP connection: the reset close code stands for it.
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(RESET_CLOSE_CODE, 'reset');
  }

  pause(): void {
    // A WebSocket cannot stop reading: frames keep arriving into the connection's queue.
  }

  resume(): void {}
}

function connect(
  opts: ResolvedOptions,
  interval: number,
  target: string,
  options: ConnectOptions = {},
): Promise<Connection> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  let ws: WebSocket;
  try {
    parseAddress(target);
    ws = new WebSocket(opts.url(target));
  } catch (error) {
    return Promise.reject(error);
  }
  ws.binaryType = 'arraybuffer';
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      ws.onopen = null;
      ws.onclose = null;
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      ws.onerror = null;
      ws.close(); // a connect still in flight is dropped by the browser
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.onerror = () => {}; // the close event that follows rejects
    ws.onclose = (event: CloseEvent) => {
      if (settled) return;
      finish();
      reject(
        new PeerlinkError(
          WsErrorCodes.CONNECT_FAILED,
          `connect to ${target}: the WebSocket closed with code ${event.code} before it opened`,
        ),
      );
    };
    ws.onopen = () => {
      if (settled) return;
      finish();
      const io = new BrowserIo(ws, opts.highWaterMark, interval);
      const conn = new WsConnection(io, target, BROWSER_LOCAL_ADDRESS, opts.frameSize, false);
      io.conn = conn;
      io.attach();
      resolve(conn);
    };
  });
}

/**
 * A WebSocket transport for browsers (and any runtime with a standard `WebSocket`): connects
 * only. `listen` rejects with `ERR_WS_UNSUPPORTED`: a page cannot accept connections.
 */
export function webSocketTransport(options: BrowserWebSocketTransportOptions = {}): Transport {
  const opts = resolveOptions(options);
  const interval = options.drainInterval ?? 4;
  if (!Number.isFinite(interval) || interval <= 0)
    throw new PeerlinkError(
      'ERR_INVALID_CONFIG',
      `drainInterval: must be positive, got ${interval}`,
    );
  return {
    listen: () =>
      Promise.reject(
        new PeerlinkError(WsErrorCodes.UNSUPPORTED, 'a browser cannot listen for connections'),
      ),
    connect: (target, connectOptions) => connect(opts, interval, target, connectOptions),
  };
}
