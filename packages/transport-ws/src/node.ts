import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type Connection,
  type ConnectOptions,
  formatAddress,
  type Listener,
  type ListenHandler,
  PeerlinkError,
  parseAddress,
  type Transport,
} from '@peerlink/stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { WsConnection, type WsIo } from './connection.js';
import { WsErrorCodes } from './errors.js';
import { type ResolvedOptions, resolveOptions, type WebSocketTransportOptions } from './options.js';

/** Options of the Node `webSocketTransport`: the common ones plus the server's. */
export interface NodeWebSocketTransportOptions extends WebSocketTransportOptions {
  /**
   * Whether to negotiate permessage-deflate (compression). Default `false`: peerlink messages are
   * often small or already compressed, and deflate costs CPU and memory per connection.
   */
  perMessageDeflate?: boolean;
  /**
   * Serves plain HTTP requests on the listening port (a page, a health check). Default: answer
   * `426 Upgrade Required`.
   */
  httpHandler?: (request: http.IncomingMessage, response: http.ServerResponse) => void;
  /**
   * How long `close()` waits for the peer's closing handshake before dropping the TCP
   * connection, in milliseconds. Default 2000 (2 s).
   */
  closeTimeout?: number;
}

interface NodeResolved extends ResolvedOptions {
  perMessageDeflate: boolean;
  closeTimeout: number;
}

function noop(): void {}

/** The `ws` glue of one connection: pending bytes are counted through `send` callbacks. */
class NodeIo implements WsIo {
  conn!: WsConnection;
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #opts: NodeResolved;
  /** Bytes handed to `ws` and not yet written to the socket. */
  #pending = 0;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ws: WebSocket, socket: Socket, opts: NodeResolved) {
    this.#ws = ws;
    this.#socket = socket;
    this.#opts = opts;
  }

  /** Attaches the listeners: call once the connection exists. */
  attach(): void {
    const ws = this.#ws;
    ws.removeAllListeners('error');
    ws.on('error', (error: Error) => this.conn.error(socketError(error)));
    // `ws` swallows the socket's own errors: kept so that a reset (ECONNRESET) or a broken pipe
    // is told apart from a peer that closed its socket without a close frame (an end of stream).
    this.#socket.on('error', (error: Error) => this.conn.socketError(error));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) this.conn.message(toBytes(data));
      else this.conn.text(data.toString());
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
      this.conn.closed(code, reason.toString());
    });
  }

  send(bytes: Uint8Array): boolean {
    // Closing or closed: dropped, and no drain (`onClose` follows). `ws` would call back on the
    // next tick, and an owner writing on every drain would keep I/O (the close) from running.
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    const size = bytes.length;
    this.#pending += size;
    this.#ws.send(bytes, { binary: true }, () => {
      this.#pending -= size;
      if (this.#pending <= this.#opts.highWaterMark >> 1) this.conn.drain();
    });
    return this.#pending <= this.#opts.highWaterMark;
  }

  sendText(text: string): void {
    this.#ws.send(text, noop);
  }

  close(code: number): void {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.close(code);
    // A peer that does not answer (paused, gone) must not hold the socket for ws's 30 s.
    this.#closeTimer = setTimeout(() => ws.terminate(), this.#opts.closeTimeout);
    this.#closeTimer.unref();
  }

  reset(): void {
    // A TCP reset: the peer's socket fails with ECONNRESET (its close is 1006, with that error).
    const socket = this.#socket as Socket & { resetAndDestroy?: () => void };
    if (typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
    else this.#ws.terminate();
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** A `ws` error as the contract wants it: a string `code`, the original as `cause`. */
function socketError(error: Error): Error {
  const code = (error as { code?: unknown }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
    return new PeerlinkError(WsErrorCodes.MESSAGE_TOO_BIG, error.message, { cause: error });
  if (typeof code === 'string' && code.startsWith('WS_ERR_'))
    return new PeerlinkError(WsErrorCodes.PROTOCOL, error.message, { cause: error });
  if (typeof code === 'string') return error;
  return new PeerlinkError(WsErrorCodes.PROTOCOL, error.message, { cause: error });
}

function wrap(ws: WebSocket, socket: Socket, opts: NodeResolved): WsConnection {
  const io = new NodeIo(ws, socket, opts);
  const conn = new WsConnection(
    io,
    formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0),
    formatAddress(socket.localAddress ?? '?', socket.localPort ?? 0),
    opts.frameSize,
    true,
  );
  io.conn = conn;
  io.attach();
  return conn;
}

class WsListener implements Listener {
  readonly address: string;
  readonly #server: http.Server;
  closed = false;

  constructor(server: http.Server, address: string) {
    this.#server = server;
    this.address = address;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // Stops accepting now; accepted connections live on (server.close's callback would wait
      // for them, so it is not awaited).
      this.#server.close();
    }
    return Promise.resolve();
  }
}

function upgradeRequired(_request: http.IncomingMessage, response: http.ServerResponse): void {
  response.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
  response.end('this is a peerlink WebSocket endpoint\n');
}

async function listen(
  opts: NodeResolved,
  httpHandler: NodeWebSocketTransportOptions['httpHandler'],
  address: string,
  handler: ListenHandler,
): Promise<Listener> {
  const { host, port } = parseAddress(address);
  const server = http.createServer(httpHandler ?? upgradeRequired);
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: opts.maxPayload,
    perMessageDeflate: opts.perMessageDeflate,
    ...(opts.path === '/' ? {} : { path: opts.path }),
  });
  let listener: WsListener | undefined;
  server.on('upgrade', (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (listener?.closed !== false) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    wss.handleUpgrade(request, socket, head, (ws) => {
      handler.onConnection(wrap(ws, socket, opts));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      server.close();
      reject(
        new PeerlinkError(error.code ?? 'ERR_LISTEN', `listen on ${address}: ${error.message}`, {
          cause: error,
        }),
      );
    });
    server.listen(port, host, () => resolve());
  });
  server.removeAllListeners('error');
  server.on('error', (error) => handler.onError?.(error));
  const bound = server.address() as AddressInfo;
  listener = new WsListener(server, formatAddress(bound.address, bound.port));
  return listener;
}

function connectError(target: string, error: Error): Error {
  const e = error as { code?: unknown; errors?: { code?: unknown }[] };
  const code = typeof e.code === 'string' ? e.code : e.errors?.[0]?.code;
  return new PeerlinkError(
    typeof code === 'string' ? code : WsErrorCodes.HANDSHAKE,
    `connect to ${target}: ${error.message}`,
    { cause: error },
  );
}

function connect(
  opts: NodeResolved,
  target: string,
  options: ConnectOptions = {},
): Promise<Connection> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  let url: string;
  try {
    parseAddress(target);
    url = opts.url(target);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<Connection>((resolve, reject) => {
    const ws = new WebSocket(url, {
      maxPayload: opts.maxPayload,
      perMessageDeflate: opts.perMessageDeflate,
    });
    let socket: Socket | undefined;
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      ws.terminate(); // releases the request or the socket
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('error', (error: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(connectError(target, error));
    });
    ws.once('upgrade', (response: http.IncomingMessage) => {
      socket = response.socket as Socket;
      socket.setNoDelay(true);
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(wrap(ws, socket as Socket, opts));
    });
  });
}

/**
 * A WebSocket transport for Node, on the `ws` package: `listen` serves WebSocket upgrades on a
 * `node:http` server (plain requests go to `httpHandler`), `connect` opens `ws://host:port/path`.
 * Bytes travel in binary frames; the end of `end()` is a text frame; see the README for the close
 * codes and the errors they become.
 */
export function webSocketTransport(options: NodeWebSocketTransportOptions = {}): Transport {
  const base = resolveOptions(options);
  const closeTimeout = options.closeTimeout ?? 2000;
  if (!Number.isFinite(closeTimeout) || closeTimeout <= 0)
    throw new PeerlinkError(
      'ERR_INVALID_CONFIG',
      `closeTimeout: must be positive, got ${closeTimeout}`,
    );
  const opts: NodeResolved = {
    ...base,
    perMessageDeflate: options.perMessageDeflate ?? false,
    closeTimeout,
  };
  return {
    listen: (address, handler) => listen(opts, options.httpHandler, address, handler),
    connect: (target, connectOptions) => connect(opts, target, connectOptions),
  };
}
