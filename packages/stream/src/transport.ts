/**
 * The transport contract: what an adapter (TCP, memory, TLS, yours) implements so that the reactor
 * can run peers over it. An adapter moves bytes and reports readiness; it owns no protocol logic
 * and no limits. See the package README for the calling order.
 */

/**
 * The most bytes an adapter should hand to one {@link ConnectionHandler.onData} call: 65536
 * (64 KiB). A larger read is split into chunks of at most this size, so that one busy connection
 * cannot hold the event loop.
 */
export const MAX_DATA_CHUNK = 65536;

/**
 * Receives a connection's events. Calls never overlap, and none comes before
 * {@link Connection.start} or after {@link ConnectionHandler.onClose}. Apart from `start`, an
 * adapter never calls the handler from inside one of the connection's own methods (it reports
 * their consequences later), so the owner may call those from anywhere, handler methods included.
 */
export interface ConnectionHandler {
  /**
   * Bytes arrived, in order; never an empty chunk. `chunk` is valid only during the call (the
   * adapter may reuse its memory afterwards). Adapters should deliver at most 64 KiB
   * ({@link MAX_DATA_CHUNK}) per call, so that one busy connection cannot hold the event loop.
   */
  onData(chunk: Uint8Array): void;
  /**
   * After {@link Connection.write} returned `false`: the connection can take more bytes now. Not
   * called if the connection closes first.
   */
  onDrain(): void;
  /**
   * Optional. While the owner waits for {@link onDrain}: the transport passed on part of what it
   * holds (the kernel took a slice of a large write, a simulated link carried some bytes), so the
   * connection is slow but not stuck. The reactor counts it as write progress, so that a reader
   * taking a large message at a steady pace is not dropped as write-stale. Adapters that can tell
   * call it each time bytes leave (TCP: each write slice taken; how often is up to the kernel, which
   * wakes a blocked writer when about a third of its send buffer is free); others never do, and then
   * only `onDrain` counts as progress.
   */
  onProgress?: (() => void) | undefined;
  /**
   * The remote side finished sending (end of stream, a TCP FIN). The connection can still write;
   * the owner calls {@link Connection.end} or {@link Connection.close} when it is done.
   */
  onEnd(): void;
  /**
   * The connection is closed and its resources released; called exactly once, last, however it
   * ended (the owner's own `end`/`reset`/`close` included). `error` is `undefined` for a clean
   * close (local `close()`/`reset()`, or both sides ended), else the transport error, with a
   * string `code` such as `ECONNRESET` (reset by the peer) or `EPIPE`. After it, the connection's
   * methods are harmless no-ops.
   */
  onClose(error: Error | undefined): void;
}

/** One established connection, as an adapter exposes it. */
export interface Connection {
  /**
   * The remote address: an opaque string the transport owns (IP transports: `host:port`, IPv6
   * hosts in brackets: `[::1]:8000`).
   */
  readonly remoteAddress: string;
  /** The local address, in the same form. */
  readonly localAddress: string;
  /**
   * Optional: `true` when the adapter never reuses the memory of a chunk it passed to
   * {@link ConnectionHandler.onData} (Node's `'data'` chunks are fresh memory each), so the owner
   * may keep views of it without a copy. Absent or `false`: a chunk is valid only during the call.
   */
  readonly stableChunks?: boolean;
  /**
   * Optional: `true` when the adapter honours {@link write}'s `release` argument, telling the
   * writer when it no longer reads the bytes of a write, so that the writer may fill that memory
   * again (the reactor reuses its send buffers then, rather than allocating fresh ones). Absent or
   * `false`: `release` is ignored and written bytes are never reused.
   */
  readonly releasesWrites?: boolean;
  /**
   * Attaches the handler and starts delivering events. Called once; nothing is delivered before
   * it. Events that happened before it (an error, the remote closing) are reported through the
   * handler as soon as it is attached, possibly during this call. A second call throws a
   * `PeerlinkError` with code `ERR_ALREADY_STARTED` and changes nothing.
   */
  start(handler: ConnectionHandler): void;
  /**
   * Hands `bytes` to the transport, which takes them whole (no partial writes) and owns them from
   * then on: the caller never modifies them again, so no copy is needed, and the adapter must not
   * modify them either. Returns `false` when the caller should wait for
   * {@link ConnectionHandler.onDrain} before writing more (advice: the bytes were accepted);
   * `true` when it may write again now. After `end`, `reset` or `close`, bytes are dropped and
   * `false` is returned; after the remote side is gone they may be dropped silently (the error
   * comes with `onClose`).
   *
   * `release` (only for an adapter that declares {@link releasesWrites}; others ignore it): called
   * as `release(bytes)` once the adapter no longer reads `bytes`, not even to retransmit (for a
   * socket: once the kernel took them), possibly during this call when it is done with them at
   * once; from then on the writer may fill that memory again. At most once per write, in any
   * order relative to other writes. The adapter may skip it for a write it cannot track (then the
   * writer never reuses those bytes), but should release every write of at most 64 KiB, the size
   * of the reactor's send buffers.
   */
  write(bytes: Uint8Array, release?: (bytes: Uint8Array) => void): boolean;
  /**
   * Stops delivering `onData` at once, until {@link resume} (receive-side backpressure): no
   * `onData` after this returns. Bytes are kept, never lost or reordered. Idempotent; may be
   * called before `start`.
   */
  pause(): void;
  /** Restarts delivery after {@link pause}. Idempotent. */
  resume(): void;
  /**
   * Half-closes: the bytes already written are delivered, then the remote side sees end of
   * stream. Reading goes on until the remote ends too. Idempotent.
   */
  end(): void;
  /** Aborts at once, discarding unsent bytes; the remote side sees a reset. Idempotent. */
  reset(): void;
  /**
   * Closes at once, discarding unsent bytes; the remote side sees end of stream (or a reset where
   * the transport cannot tell the two apart). Idempotent.
   */
  close(): void;
}

/** Receives a listener's connections. */
export interface ListenHandler {
  /** A new inbound connection. The owner must `start` it or `close` it. */
  onConnection(connection: Connection): void;
  /**
   * An accept failed (for example `EMFILE`: out of file descriptors). The listener keeps
   * listening and accepts again when it can.
   */
  onError?(error: Error): void;
}

/** A bound listener. */
export interface Listener {
  /**
   * The bound address, in the transport's own form (IP transports: `host:port`, with the real port
   * when port 0 was asked for).
   */
  readonly address: string;
  /** Stops accepting; connections already accepted are not affected. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: the listener no longer keeps the process alive (as `net.Server.unref()`); used by
   * `Reactor.unref()`. Transports without such a notion leave it out.
   */
  unref?(): void;
  /** Optional: undoes {@link unref}. */
  ref?(): void;
}

/** Options for {@link Transport.connect}. */
export interface ConnectOptions {
  /**
   * Aborts the attempt. On abort, the adapter releases everything it opened and rejects with
   * `signal.reason`. The reactor uses it for `connectTimeout` and for user cancellation.
   */
  signal?: AbortSignal;
}

/** A way to listen for and open connections: the one interface adapters implement. */
export interface Transport {
  /**
   * Binds `address` (the transport's own form; IP transports: `host:port`, port 0 for any free
   * port). Rejects when the address cannot be
   * bound (for example `EADDRINUSE`), having released what it opened.
   */
  listen(address: string, handler: ListenHandler): Promise<Listener>;
  /**
   * Opens a connection to `target` (the transport's own form; IP transports: `host:port`, by IP
   * or name). Resolves once, with a connected
   * {@link Connection} not yet started; or rejects once, with an `Error` carrying a `code`.
   */
  connect(target: string, options?: ConnectOptions): Promise<Connection>;
}
