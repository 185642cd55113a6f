import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Connection, type ConnectionHandler, formatAddress, withCode } from '@peerlink/stream';
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
/** In place of Node's own `'end'` listener (see {@link takeOverEnd}): calls it, then ours. */
function socketOnEndAfterNode(this: Tagged): void {
  nodeOnEnd?.call(this);
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
  this[CONN]?.socketClosed();
}

function noop(): void {}

/** The `'end'` listener Node gives every `net.Socket` itself, once seen by {@link takeOverEnd}. */
let nodeOnEnd: ((this: Duplex) => void) | undefined;

/**
 * @internal For a socket this package has just made (connected or accepted), while Node's own
 * `'end'` listener is still its only listener: puts one in its place that calls Node's and then
 * serves the connection. The socket then keeps a single `'end'` listener instead of an array of
 * two (64 bytes per connection), and Node's listener still runs first, as it did. Any other socket
 * is left as it is; {@link TcpConnection} adds its own listener to those.
 */
export function takeOverEnd(socket: Duplex): void {
  if (socket.eventNames().length !== 1) return;
  const listeners = socket.rawListeners('end');
  const listener = listeners[0];
  if (listeners.length !== 1 || typeof listener !== 'function') return;
  nodeOnEnd ??= listener as (this: Duplex) => void;
  if (listener !== nodeOnEnd) return;
  // Its only listener: `_events` is replaced by a fresh object (no key deleted from it).
  socket.removeListener('end', nodeOnEnd);
  socket.on('end', socketOnEndAfterNode);
}

// ---------------------------------------------------------------------------------- addresses
//
// An idle connection keeps its two addresses compactly and formats them on each read (the reads
// are rare: the reactor's `accepted`/`connected` events, stats), so nothing string-shaped is
// retained per connection. An endpoint is a host and a port: the host is a canonical IPv4 address
// packed into a 32-bit integer (no string kept at all), or the host string as Node gave it (IPv6),
// or, with port `WHOLE`, an address given whole (`host:port`, or `''`).

/** The port of an endpoint whose host field holds the whole address string. */
const WHOLE = -1;

/**
 * @internal `127.0.0.1` → its 32-bit value (as an int32, so that it stays a small integer);
 * anything that is not a canonical dotted quad (no leading zeros, each part 0–255) is returned as
 * it is.
 */
export function packHost(host: string): number | string {
  let value = 0;
  let part = -1;
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || dots === 3) return host;
      value = value * 256 + part;
      part = -1;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (part === 0) return host; // a leading zero: not canonical
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      if (part > 255) return host;
    } else {
      return host;
    }
  }
  if (dots !== 3 || part < 0) return host;
  return (value * 256 + part) | 0;
}

/**
 * @internal The `host:port` form of an endpoint (IPv6 hosts in brackets), as {@link formatAddress}
 * gives it.
 */
export function formatEndpoint(host: number | string, port: number): string {
  if (typeof host === 'string') return port === WHOLE ? host : formatAddress(host, port);
  return `${host >>> 24}.${(host >>> 16) & 255}.${(host >>> 8) & 255}.${host & 255}:${port}`;
}

/** One end of a socket, as Node's handles report it (`getpeername(out)`, `getsockname(out)`). */
interface Endpoint {
  address?: unknown;
  port?: unknown;
}

/** The Node socket internals and getters that {@link endpointOf} reads, when present. */
interface SocketLike {
  readonly _handle?: {
    getpeername?: (out: Endpoint) => unknown;
    getsockname?: (out: Endpoint) => unknown;
  } | null;
  readonly connecting?: boolean;
  readonly remoteAddress?: unknown;
  readonly remotePort?: unknown;
  readonly localAddress?: unknown;
  readonly localPort?: unknown;
}

/**
 * A socket's remote (or local) address and port, or `undefined` when it has none. Asks the
 * socket's handle directly when it can: the public getters (`socket.remoteAddress`, `localPort`,
 * ...) cache the answer on the socket, an object and a string per side that an idle socket would
 * keep for its lifetime. Anything else (a custom duplex, a handle without the call, an answer of
 * an unexpected shape) goes through the public getters.
 */
function endpointOf(
  socket: Duplex,
  remote: boolean,
): { address: string; port: number } | undefined {
  const s = socket as Duplex & SocketLike;
  const handle = s._handle;
  const query = remote ? handle?.getpeername : handle?.getsockname;
  if (typeof query === 'function' && s.connecting !== true) {
    const out: Endpoint = {};
    let status: unknown;
    try {
      status = query.call(handle, out);
    } catch {}
    const { address, port } = out;
    if (status === 0 && typeof address === 'string' && typeof port === 'number') {
      return { address, port };
    }
  }
  const address = remote ? s.remoteAddress : s.localAddress;
  const port = remote ? s.remotePort : s.localPort;
  return typeof address === 'string' && typeof port === 'number' ? { address, port } : undefined;
}

// State bits of a connection (one small integer instead of a field each).
const PAUSED = 1;
const DRAIN_PENDING = 2;
const END_PENDING = 4;
const DONE = 8;
/** The socket emitted `'close'`. */
const CLOSED = 16;
/** `onClose` was called. */
const REPORTED = 32;

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
  /** @internal */ handler: ConnectionHandler | undefined;
  /** @internal The first socket error, reported with `onClose`. */ error: Error | undefined;
  readonly #socket: Tagged;
  #state = 0;
  // The two endpoints, formatted on each read (see `formatEndpoint`).
  #remoteHost: number | string;
  #remotePort: number;
  #localHost: number | string;
  #localPort: number;

  constructor(socket: Duplex, remoteAddress: string, localAddress: string, usesOnread = false) {
    this.#socket = socket as Tagged;
    this.#remoteHost = remoteAddress;
    this.#remotePort = WHOLE;
    this.#localHost = localAddress;
    this.#localPort = WHOLE;
    this.#socket[CONN] = this;
    socket.pause(); // before the 'data' listener, which would otherwise start the flow
    socket.on('error', socketOnError);
    socket.on('close', socketOnClose);
    if (socket.listenerCount('end', socketOnEndAfterNode) === 0) socket.on('end', socketOnEnd);
    socket.on('drain', socketOnDrain);
    if (!usesOnread) socket.on('data', socketOnData);
    this.error = socket.errored ?? undefined;
    if (socket.readableEnded) this.#state |= END_PENDING;
    if (socket.destroyed && socket.closed) this.#state |= CLOSED;
  }

  /**
   * @internal Wraps a socket, reading its addresses from the socket itself and keeping them
   * compactly (see `formatEndpoint`); without leaving Node's per-socket address caches behind.
   * A socket with no remote address reports `fallbackRemote`; with none given, it is not wrapped
   * (`undefined`: a connection reset before it was accepted). A missing local address is `''`.
   */
  static fromSocket(
    socket: Duplex,
    fallbackRemote: string | undefined,
    usesOnread: boolean,
  ): TcpConnection | undefined {
    const remote = endpointOf(socket, true);
    if (remote === undefined && fallbackRemote === undefined) return undefined;
    const local = endpointOf(socket, false);
    const conn = new TcpConnection(socket, fallbackRemote ?? '', '', usesOnread);
    if (remote !== undefined) {
      conn.#remoteHost = packHost(remote.address);
      conn.#remotePort = remote.port;
    }
    if (local !== undefined) {
      conn.#localHost = packHost(local.address);
      conn.#localPort = local.port;
    }
    return conn;
  }

  /** The remote address, `host:port` (IPv6 hosts in brackets). */
  get remoteAddress(): string {
    return formatEndpoint(this.#remoteHost, this.#remotePort);
  }

  /** The local address, in the same form (`''` when the duplex has none). */
  get localAddress(): string {
    return formatEndpoint(this.#localHost, this.#localPort);
  }

  /** @internal The socket emitted `'close'`. */
  get closed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  /** @internal `onClose` was called. */
  get reported(): boolean {
    return (this.#state & REPORTED) !== 0;
  }

  start(handler: ConnectionHandler): void {
    if (this.handler !== undefined) return;
    this.handler = handler;
    if ((this.#state & CLOSED) !== 0) {
      this.report();
      return;
    }
    if ((this.#state & DRAIN_PENDING) !== 0) {
      this.#state &= ~DRAIN_PENDING;
      handler.onDrain();
    }
    if ((this.#state & END_PENDING) !== 0) {
      this.#state &= ~END_PENDING;
      handler.onEnd();
    }
    if ((this.#state & (PAUSED | REPORTED)) === 0) this.#socket.resume();
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.#socket;
    if ((this.#state & DONE) !== 0 || socket.destroyed || socket.writableEnded) return false;
    return socket.write(bytes);
  }

  pause(): void {
    this.#state |= PAUSED;
    this.#socket.pause();
  }

  resume(): void {
    this.#state &= ~PAUSED;
    if (this.handler !== undefined && (this.#state & CLOSED) === 0) this.#socket.resume();
  }

  end(): void {
    if ((this.#state & DONE) !== 0) return;
    this.#state |= DONE;
    this.#socket.end();
  }

  reset(): void {
    this.#state |= DONE;
    const socket = this.#socket as Tagged & Partial<Pick<Socket, 'resetAndDestroy'>>;
    if (socket.destroyed) return;
    try {
      // Only a TCP socket can send a reset; anything else (a pipe, a custom duplex) is destroyed.
      if (typeof socket.resetAndDestroy === 'function') return void socket.resetAndDestroy();
    } catch {}
    socket.destroy();
  }

  close(): void {
    this.#state |= DONE;
    this.#socket.destroy();
  }

  /** @internal Bytes from `onread`: at most {@link MAX_CHUNK}, valid only during this call. */
  deliver(chunk: Uint8Array): void {
    if (this.handler !== undefined && (this.#state & REPORTED) === 0) this.handler.onData(chunk);
  }

  /** @internal A `'data'` chunk: split to {@link MAX_CHUNK}; a remainder left by `pause` goes back. */
  data(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if ((this.#state & REPORTED) !== 0) return;
      if ((this.#state & PAUSED) !== 0 || this.handler === undefined) {
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
    if ((this.#state & REPORTED) !== 0) return;
    if (this.handler === undefined) this.#state |= END_PENDING;
    else this.handler.onEnd();
  }

  /** @internal */
  drain(): void {
    if ((this.#state & REPORTED) !== 0) return;
    if (this.handler === undefined) this.#state |= DRAIN_PENDING;
    else this.handler.onDrain();
  }

  /** @internal The socket emitted `'close'`: reported now, or once a handler is attached. */
  socketClosed(): void {
    this.#state |= CLOSED;
    this.report();
  }

  /** @internal Reports `onClose` once the socket closed and a handler is attached; exactly once. */
  report(): void {
    const state = this.#state;
    if ((state & (REPORTED | CLOSED)) !== CLOSED || this.handler === undefined) return;
    this.#state = state | REPORTED;
    const socket = this.#socket;
    socket.off('data', socketOnData);
    socket.off('end', socketOnEnd); // (`socketOnEndAfterNode` stays: it calls Node's listener)
    socket.off('drain', socketOnDrain);
    // The error listener stays: a late error must never become an unhandled 'error' event.
    socket.on('error', noop);
    socket.off('error', socketOnError);
    this.handler.onClose(
      this.error === undefined ? undefined : withCode(this.error, TcpErrorCodes.SOCKET),
    );
  }
}
