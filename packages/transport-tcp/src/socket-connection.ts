import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type Connection,
  type ConnectionHandler,
  MAX_DATA_CHUNK,
  PeerlinkError,
  withCode,
} from '@peerlink/stream';
import {
  type Endpoint,
  endpointOf,
  formatEndpoint,
  type KnownEndpoint,
  packHost,
  WHOLE,
} from './endpoint.js';
import { TcpErrorCodes } from './errors.js';
import {
  type Release,
  WRITE_SLICE,
  type WriteReleases,
  writeAllRest,
  writeReleased,
  writeRest,
} from './writes.js';

export { formatEndpoint, type KnownEndpoint, packHost } from './endpoint.js';
export { WRITE_SLICE } from './writes.js';

/** Options of {@link socketConnection}. */
export interface SocketConnectionOptions {
  /**
   * The remote address the connection reports (any string; the transport decides its form).
   * Default: read from the socket's `remoteAddress` and `remotePort`, as `host:port` (IPv6 hosts
   * in brackets), or `''` when it has none.
   */
  readonly remoteAddress?: string;
  /** The local address, likewise (default: the socket's `localAddress` and `localPort`). */
  readonly localAddress?: string;
  /**
   * Aborts the connection so that the remote side sees a reset; called once, by `reset()`.
   * Default: the socket's `resetAndDestroy()` where it has one (a `net.Socket`), else `destroy()`.
   * A TLS adapter passes a function that resets the TCP socket under the TLS one.
   */
  readonly reset?: () => void;
  /**
   * The `code` for a socket error that has none (errors with a code keep it; both are wrapped in
   * a `PeerlinkError` whose `cause` is the original). Default: `'ERR_SOCKET'`.
   */
  readonly errorCode?: string;
}

/**
 * The one receive buffer shared by every socket that reads with Node's `onread` option. Safe to
 * share: `onread` callbacks run synchronously, one at a time, and the contract says a chunk is
 * valid only during `onData`, so each chunk is consumed before any other socket reads.
 */
const sharedReadBuffer = new Uint8Array(MAX_DATA_CHUNK);

const CONN = Symbol('peerlink.socket.connection');
type Tagged = Duplex & { [CONN]?: SocketConnection };

/**
 * Whether Node's `onread` socket option works here: Bun 1.x calls its callback without the
 * socket as `this`, so reads would go nowhere; Deno's `node:net` has no `onread` at all. Both
 * read through `'data'` events instead.
 */
export const ONREAD_SUPPORTED: boolean = (() => {
  const versions = (globalThis as { process?: { versions?: Record<string, unknown> } }).process
    ?.versions;
  return typeof versions?.node === 'string' && versions.bun === undefined && !('deno' in versions);
})();

/**
 * `onread` options for `net.connect`: reads go into {@link sharedReadBuffer} and straight to the
 * connection's handler, with no `Buffer` allocated per read. Node honours it for `net.connect`
 * (never for accepted sockets, which read through `'data'` events).
 */
export const onreadOption: { buffer: Uint8Array; callback: (n: number, b: Uint8Array) => boolean } =
  { buffer: sharedReadBuffer, callback: socketOnRead };

// Module-level listeners (`this` is the socket) instead of closures: idle connections stay small.
function socketOnRead(this: Tagged | undefined, n: number, buffer: Uint8Array): boolean {
  this?.[CONN]?.deliver(buffer.subarray(0, n));
  return true; // `false` would pause the socket; `pause()` does that when the handler asks.
}
function socketOnData(this: Tagged, chunk: Uint8Array): void {
  this[CONN]?.data(chunk);
}
function socketOnEnd(this: Tagged): void {
  this[CONN]?.ended();
}
function socketOnDrain(this: Tagged): void {
  this[CONN]?.drained();
}
function socketOnError(this: Tagged, error: Error): void {
  this[CONN]?.failed(error);
}
function socketOnClose(this: Tagged): void {
  this[CONN]?.socketClosed();
}

function noop(): void {}

// State bits of a connection (one small integer instead of a field each).
const PAUSED = 1;
/** `'drain'` came before `start`: `onDrain` on start. */
const DRAIN_HELD = 2;
/** `'end'` came before `start`: `onEnd` on start. */
const END_HELD = 4;
/** `end`, `reset` or `close` was called: writes are dropped. */
const DONE = 8;
/** The socket emitted `'close'`. */
const CLOSED = 16;
/** `onClose` was called. */
const REPORTED = 32;
/** A write returned `false`: `onDrain` is owed once everything has left. */
const NEED_DRAIN = 64;
/** `reset` or `close` was called: the close is ours and clean, whatever the socket says. */
const CLOSING = 128;
/** A handler call is under way (a close it causes is reported after it, never inside it). */
const IN_HANDLER = 256;
/** A `net.Socket` read through `'data'`: its chunks are fresh memory, never reused. */
const STABLE_CHUNKS = 512;
/**
 * A `net.Socket` (TLS ones included) under Node: its handle is done with a write's bytes when
 * Node calls the write back (the kernel, or the TLS engine, has them), so writes are released.
 * Not for any other duplex (a `PassThrough` hands written chunks on by reference), nor under Bun
 * or Deno, whose sockets may keep them differently.
 */
const RELEASES = 1024;

/** A connection's `reset` and `errorCode` options. */
interface Custom {
  readonly reset: (() => void) | undefined;
  readonly errorCode: string | undefined;
}

/** The `custom` of every connection made without a `reset` or `errorCode` option. */
const NO_CUSTOM: Custom = Object.freeze({ reset: undefined, errorCode: undefined });

/**
 * Adapts a connected duplex to the {@link Connection} contract: the work every socket adapter
 * shares (TCP here, TLS over it). Not exported from the package: {@link socketConnection} makes
 * one.
 */
class SocketConnection implements Connection {
  handler: ConnectionHandler | undefined;
  /** The first socket error, reported with `onClose`. */
  error: Error | undefined;
  readonly socket: Tagged;
  state = 0;
  /** What is left of writes larger than {@link WRITE_SLICE}, in order; `undefined` when none. */
  rest: Uint8Array[] | undefined;
  /** For each entry of {@link rest}: the whole bytes written, and their `release` or `undefined`. */
  restOwners: Array<Uint8Array | Release | undefined> | undefined;
  /**
   * The adapter's `reset` and `errorCode` options: one object shared by every connection made
   * without them (TCP's), so an idle connection carries one field for both.
   */
  readonly custom: Custom;
  remoteHost: number | string = '';
  remotePort = WHOLE;
  localHost: number | string = '';
  localPort = WHOLE;
  /** Hands written bytes back (see `Connection.releasesWrites`); made on first use. */
  releases: WriteReleases | undefined;

  constructor(socket: Duplex, options: SocketConnectionOptions, usesOnread: boolean) {
    const tagged = socket as Tagged;
    this.socket = tagged;
    this.custom =
      options.reset === undefined && options.errorCode === undefined
        ? NO_CUSTOM
        : { reset: options.reset, errorCode: options.errorCode };
    tagged[CONN] = this;
    socket.pause(); // before the 'data' listener, which would otherwise start the flow
    socket.on('error', socketOnError);
    socket.on('close', socketOnClose);
    socket.on('end', socketOnEnd);
    socket.on('drain', socketOnDrain);
    if (!usesOnread) socket.on('data', socketOnData);
    this.error = socket.errored ?? undefined;
    if (socket.readableEnded) this.state |= END_HELD;
    if (socket.destroyed && socket.closed) this.state |= CLOSED;
  }

  get remoteAddress(): string {
    return formatEndpoint(this.remoteHost, this.remotePort);
  }

  get localAddress(): string {
    return formatEndpoint(this.localHost, this.localPort);
  }

  /** See `Connection.stableChunks`: only for the TCP sockets this package reads via `'data'`. */
  get stableChunks(): boolean {
    return (this.state & STABLE_CHUNKS) !== 0;
  }

  start(handler: ConnectionHandler): void {
    if (this.handler !== undefined) {
      throw new PeerlinkError(TcpErrorCodes.ALREADY_STARTED, 'connection already started');
    }
    this.handler = handler;
    if ((this.state & CLOSED) !== 0) {
      this.report();
      return;
    }
    if ((this.state & DRAIN_HELD) !== 0) {
      this.state &= ~DRAIN_HELD;
      this.call(handler.onDrain);
    }
    if ((this.state & END_HELD) !== 0) {
      this.state &= ~END_HELD;
      if ((this.state & CLOSING) === 0) this.call(handler.onEnd);
    }
    if ((this.state & (PAUSED | REPORTED | CLOSING)) === 0) this.socket.resume();
  }

  /** See `Connection.releasesWrites`: for a `net.Socket` (TLS included) under Node. */
  get releasesWrites(): boolean {
    return (this.state & RELEASES) !== 0;
  }

  write(bytes: Uint8Array, release?: Release): boolean {
    const socket = this.socket;
    if ((this.state & DONE) !== 0 || socket.destroyed || socket.writableEnded) {
      release?.(bytes); // dropped: never read
      return false;
    }
    if ((this.state & RELEASES) === 0) release = undefined;
    if (this.rest !== undefined) {
      this.rest.push(bytes); // behind the slices still to go
      this.restOwners!.push(bytes, release);
      return false;
    }
    let ok: boolean;
    if (bytes.length > WRITE_SLICE) {
      const rest = [bytes];
      this.rest = rest;
      this.restOwners = [bytes, release];
      ok = writeRest(this); // true: the kernel took it all at once
    } else if (release === undefined) {
      ok = socket.write(bytes);
    } else {
      ok = writeReleased(this, bytes, bytes, release);
    }
    if (ok) return true;
    this.state |= NEED_DRAIN;
    return false;
  }

  pause(): void {
    this.state |= PAUSED;
    this.socket.pause();
  }

  resume(): void {
    this.state &= ~PAUSED;
    if (this.handler !== undefined && (this.state & (CLOSED | CLOSING)) === 0) this.socket.resume();
  }

  end(): void {
    if ((this.state & DONE) !== 0) return;
    this.state |= DONE;
    const rest = this.rest;
    const socket = this.socket;
    // Everything written goes out before the end: hand the slices over at once.
    if (rest !== undefined && !socket.destroyed) writeAllRest(this);
    socket.end();
  }

  reset(): void {
    if ((this.state & CLOSING) !== 0) return;
    this.state |= DONE | CLOSING;
    this.rest = this.restOwners = undefined;
    const socket = this.socket as Tagged & { resetAndDestroy?: () => unknown };
    if (socket.destroyed) return;
    const reset = this.custom.reset;
    if (reset !== undefined) {
      reset.call(this);
      return;
    }
    try {
      // Only a TCP socket can send a reset; anything else (a pipe, a custom duplex) is destroyed.
      if (typeof socket.resetAndDestroy === 'function') return void socket.resetAndDestroy();
    } catch {}
    socket.destroy();
  }

  close(): void {
    if ((this.state & CLOSING) !== 0) return;
    this.state |= DONE | CLOSING;
    this.rest = this.restOwners = undefined;
    this.socket.destroy();
  }

  /** Calls a handler method, marking the call so that a close it causes waits for its end. */
  call(method: (this: ConnectionHandler) => void): void {
    this.state |= IN_HANDLER;
    try {
      method.call(this.handler as ConnectionHandler);
    } finally {
      this.state &= ~IN_HANDLER;
    }
  }

  /** Bytes from `onread`: at most {@link MAX_DATA_CHUNK}, valid only during this call. */
  deliver(chunk: Uint8Array): void {
    const handler = this.handler;
    if (handler === undefined || (this.state & (REPORTED | CLOSING)) !== 0) return;
    this.state |= IN_HANDLER;
    try {
      handler.onData(chunk);
    } finally {
      this.state &= ~IN_HANDLER;
    }
  }

  /** A `'data'` chunk: split to {@link MAX_DATA_CHUNK}; a remainder left by `pause` goes back. */
  data(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if ((this.state & (REPORTED | CLOSING)) !== 0) return;
      if ((this.state & PAUSED) !== 0 || this.handler === undefined) {
        // Not wanted now (a `pause` raced a chunk already on its way): back to the stream, first
        // in line (paused, so it stays buffered).
        this.socket.pause();
        this.socket.unshift(chunk.subarray(offset));
        return;
      }
      const end = Math.min(chunk.length, offset + MAX_DATA_CHUNK);
      this.deliver(offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end));
      offset = end;
    }
  }

  /** The remote finished sending; held until `start` if it comes before. */
  ended(): void {
    if ((this.state & (REPORTED | CLOSING)) !== 0) return;
    if (this.handler === undefined) this.state |= END_HELD;
    else this.call(this.handler.onEnd);
  }

  /** The socket's buffer emptied: the next slice goes, or `onDrain` when all has left. */
  drained(): void {
    if ((this.state & (REPORTED | CLOSING)) !== 0) return;
    const rest = this.rest;
    if (rest !== undefined && !writeRest(this)) {
      // The kernel took the last slice; more are on their way: progress, but no drain yet.
      const handler = this.handler;
      if (handler?.onProgress !== undefined) this.call(handler.onProgress);
      return;
    }
    if ((this.state & NEED_DRAIN) === 0) return;
    this.state &= ~NEED_DRAIN;
    if (this.handler === undefined) this.state |= DRAIN_HELD;
    else this.call(this.handler.onDrain);
  }

  failed(error: Error): void {
    if ((this.state & CLOSING) === 0) this.error ??= error;
  }

  /** The socket emitted `'close'`: reported now, or once a handler is attached. */
  socketClosed(): void {
    this.state |= CLOSED;
    this.report();
  }

  /** Reports `onClose` once the socket closed and a handler is attached; exactly once. */
  report(): void {
    const state = this.state;
    const handler = this.handler;
    if ((state & (REPORTED | CLOSED)) !== CLOSED || handler === undefined) return;
    // Handler calls never overlap: a close caused from inside one is reported right after it.
    if ((state & IN_HANDLER) !== 0) return void queueMicrotask(() => this.report());
    this.state = state | REPORTED;
    this.rest = this.restOwners = undefined;
    const socket = this.socket;
    socket.off('data', socketOnData);
    socket.off('end', socketOnEnd);
    socket.off('drain', socketOnDrain);
    // The error listener stays: a late error must never become an unhandled 'error' event.
    socket.on('error', noop);
    socket.off('error', socketOnError);
    const error = this.error;
    handler.onClose(
      error === undefined
        ? undefined
        : withCode(error, this.custom.errorCode ?? TcpErrorCodes.SOCKET),
    );
  }
}

/**
 * @internal Wraps a socket (see {@link socketConnection}); `usesOnread` for the sockets this
 * package connected with {@link onreadOption}. With `requireRemote`, returns `undefined` (wrapping
 * nothing) when the socket has no remote address and none was given: an accepted socket reset
 * before we got to it. An address in `known` is not read from the socket.
 */
export function wrapSocket(
  socket: Duplex,
  options: SocketConnectionOptions,
  usesOnread: boolean,
  requireRemote = false,
  stableChunks = false,
  known: { readonly remote?: KnownEndpoint; readonly local?: KnownEndpoint } = {},
): Connection | undefined {
  const remote: Endpoint | undefined =
    known.remote !== undefined
      ? [packHost(known.remote.host), known.remote.port]
      : options.remoteAddress === undefined
        ? endpointOf(socket, true)
        : [options.remoteAddress, WHOLE];
  if (remote === undefined && requireRemote) return undefined;
  const local: Endpoint | undefined =
    known.local !== undefined
      ? [packHost(known.local.host), known.local.port]
      : options.localAddress === undefined
        ? endpointOf(socket, false)
        : [options.localAddress, WHOLE];
  const conn = new SocketConnection(socket, options, usesOnread);
  if (stableChunks && !usesOnread) conn.state |= STABLE_CHUNKS;
  if (ONREAD_SUPPORTED && socket instanceof Socket) conn.state |= RELEASES;
  if (remote !== undefined) [conn.remoteHost, conn.remotePort] = remote;
  if (local !== undefined) [conn.localHost, conn.localPort] = local;
  return conn;
}

/**
 * Adapts a connected socket to the {@link Connection} contract: the shared base of socket
 * adapters (the TCP transport uses it, the TLS transport is a thin layer over it, and a
 * third-party adapter over a Node `Duplex`, such as a Unix-domain socket, can use it too).
 *
 * `socket` is a connected `net.Socket`, `tls.TLSSocket` or any `Duplex` that behaves like one
 * (`'data'`, `'end'`, `'drain'`, `'error'`, `'close'`, `pause`/`resume`, `unshift`, `end`,
 * `destroy`). It is paused here and stays paused until `start`; its `'error'` listener is
 * attached here and kept until it closes, so no error is ever unhandled. Events that come before
 * `start` are held and delivered on `start`; a second `start` throws `ERR_ALREADY_STARTED`. Reads
 * are split to at most 64 KiB per `onData`; writes above 256 KiB go out in slices (views, no
 * copy), each slice the socket takes reported with `onProgress`. For half-close, create the
 * socket with `allowHalfOpen: true`.
 */
export function socketConnection(
  socket: Duplex,
  options: SocketConnectionOptions = {},
): Connection {
  return wrapSocket(socket, options, false) as Connection;
}
