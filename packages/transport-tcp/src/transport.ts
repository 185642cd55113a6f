import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  abortable,
  type Connection,
  type ConnectOptions,
  codeOf,
  formatAddress,
  type HostPort,
  invalidArgument,
  type Listener,
  type ListenHandler,
  messageOf,
  PeerlinkError,
  parseAddress,
  type Transport,
} from '@peerlink/stream';
import { TcpErrorCodes } from './errors.js';
import {
  type KnownEndpoint,
  ONREAD_SUPPORTED,
  onreadOption,
  wrapSocket,
} from './socket-connection.js';

/** What a connector is given besides the target. */
export interface ConnectorOptions {
  /**
   * Aborted when the connect is cancelled or times out (the reactor's `connectTimeout`). On abort
   * the connector destroys whatever it opened and rejects with `signal.reason`.
   */
  readonly signal: AbortSignal;
}

/**
 * Produces a connected socket for `target`: a `net.Socket`, or any `Duplex` that behaves like one
 * (`'data'`, `'end'`, `'drain'`, `'error'`, `'close'`, `pause`/`resume`, `end`, `destroy`).
 * Called once per connect. Resolves once with an open, paused duplex that has an `'error'`
 * listener of its own; or rejects once, with an `Error` carrying a `code`. See the README.
 */
export type Connector = (target: HostPort, options: ConnectorOptions) => Promise<Duplex>;

/** One resolved address, as `dns.promises.lookup(name, { all: true })` returns them. */
export interface LookupAddress {
  /** An IPv4 or IPv6 address (no brackets). */
  readonly address: string;
  /** 4 or 6. */
  readonly family: number;
}

/**
 * Resolves a host name to its addresses, in the order to try them. The default is
 * `dns.promises.lookup(hostname, { all: true })` (the system resolver, `/etc/hosts` included).
 * The signal is aborted when the connect is; a lookup that ignores it is abandoned anyway.
 */
export type Lookup = (
  hostname: string,
  options: { readonly signal: AbortSignal },
) => Promise<readonly LookupAddress[]>;

/** Options of {@link directConnector}. */
export interface DirectConnectorOptions {
  /** How host names are resolved. Default: `dns.promises.lookup` with `all: true`. */
  lookup?: Lookup;
}

/** Options of {@link tcpTransport}. */
export interface TcpTransportOptions {
  /**
   * How outbound sockets are made. Default: a direct TCP connect (see {@link directConnector}),
   * which also reads with Node's `onread` option. A custom connector's sockets read through
   * `'data'` events.
   */
  connector?: Connector;
  /** How the default connector resolves host names (ignored with `connector`). */
  lookup?: Lookup;
  /**
   * How the default connector's sockets receive: `'onread'` (one shared 64 KiB buffer, no
   * allocation per read) or `'data'` (a `Buffer` per read, as with any socket). Accepted sockets
   * always use `'data'` (Node has no `onread` for them). Default: `'onread'`.
   */
  readMode?: 'onread' | 'data';
  /**
   * TCP keep-alive on every socket, accepted and connected: the idle time before the first probe,
   * in milliseconds (`socket.setKeepAlive(true, keepAlive)`; the kernel counts whole seconds).
   * A peer that vanished without FIN or RST is then noticed by the kernel, which resets the
   * connection after its unanswered probes. `false` or `0` leaves the system default (off).
   * Default `false`: kernel probes come late (the first after this delay, then a handful more
   * seconds apart); the reactor's `idleTimeout` is the portable liveness check.
   */
  keepAlive?: number | false;
}

const defaultLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' });

function noop(): void {}

/** Destroys what a connector handed over after the connect was abandoned (whatever it is). */
function destroyLate(late: unknown): void {
  try {
    (late as Partial<Duplex> | null)?.destroy?.();
  } catch {}
}

/** The error for a connect whose every attempt failed: `ECONNREFUSED` wins over other codes. */
function connectFailure(target: string, errors: readonly unknown[], cause: unknown): PeerlinkError {
  const flat = errors.flatMap((e) => (e instanceof AggregateError ? e.errors : [e]));
  const chosen = flat.find((e) => codeOf(e) === 'ECONNREFUSED') ?? flat[0] ?? cause;
  const code = codeOf(chosen) ?? codeOf(cause) ?? TcpErrorCodes.CONNECTOR;
  return new PeerlinkError(code, `connect ${target}: ${messageOf(chosen)}`, { cause });
}

/**
 * Makes a connector's rejection a `PeerlinkError` with a `code`: `PeerlinkError`s pass through,
 * an `AggregateError` (Node's `autoSelectFamily`) is unwrapped to the code of its parts.
 */
function connectError(target: string, error: unknown): unknown {
  if (PeerlinkError.isInstance(error)) return error;
  if (error instanceof AggregateError) return connectFailure(target, error.errors, error);
  return connectFailure(target, [error], error);
}

async function resolveHost(host: string, signal: AbortSignal, lookup: Lookup): Promise<string[]> {
  let addresses: readonly LookupAddress[];
  try {
    addresses = await abortable(lookup(host, { signal }), signal, noop);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new PeerlinkError(TcpErrorCodes.DNS, `resolve ${host}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (addresses.length === 0) {
    throw new PeerlinkError(TcpErrorCodes.DNS, `resolve ${host}: no addresses`);
  }
  return addresses.map((a) => a.address);
}

/**
 * @internal What {@link connectDirect}'s sockets are for: this transport, reading with the `onread`
 * option or with `'data'` events; or to be handed over (by a connector) to someone else.
 */
export type DirectMode = 'onread' | 'data' | 'handover';

/**
 * One TCP connect to an IP address. The socket comes back paused, with its 'error' listener.
 * Rejects with `signal.reason` on abort (at once if it is already aborted).
 */
function connectOne(
  address: string,
  port: number,
  signal: AbortSignal,
  mode: DirectMode,
): Promise<net.Socket> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: address,
      port,
      allowHalfOpen: true,
      noDelay: true,
      ...(mode === 'onread' ? { onread: onreadOption } : {}),
    });
    socket.pause();
    // Attached at creation and kept until the connection's own listener replaces it: no error is
    // ever unhandled.
    socket.on('error', noop);
    const onAbort = () => {
      socket.off('connect', onConnect).off('error', onError).destroy();
      reject(signal.reason);
    };
    const onConnect = () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    };
    const onError = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      reject(error);
    };
    socket.once('connect', onConnect).once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * @internal Resolves `target` and tries its addresses one after another; first success wins.
 * Honours `signal` throughout (the lookup, each attempt and the gaps between them), rejecting
 * with `signal.reason`.
 */
export function connectDirect(
  target: HostPort,
  signal: AbortSignal,
  lookup: Lookup,
  mode: DirectMode,
): Promise<net.Socket> {
  if (net.isIP(target.host) === 0) return connectByName(target, signal, lookup, mode);
  // An IP address: a single attempt, with no promise or async frame around it but this one.
  return connectOne(target.host, target.port, signal, mode).catch((error: unknown) => {
    if (signal.aborted) throw signal.reason;
    throw connectFailure(formatAddress(target.host, target.port), [error], error);
  });
}

async function connectByName(
  target: HostPort,
  signal: AbortSignal,
  lookup: Lookup,
  mode: DirectMode,
): Promise<net.Socket> {
  signal.throwIfAborted();
  const addresses = await resolveHost(target.host, signal, lookup);
  const errors: unknown[] = [];
  for (const address of addresses) {
    try {
      return await connectOne(address, target.port, signal, mode);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      errors.push(error);
    }
  }
  const name = formatAddress(target.host, target.port);
  throw connectFailure(name, errors, errors.length === 1 ? errors[0] : new AggregateError(errors));
}

/**
 * The direct connector: resolves a host name with `lookup` (IP addresses are used as they are),
 * then tries each address in turn, one TCP connect at a time; the first success wins. When all
 * fail, the error has the code of the first refusal (`ECONNREFUSED`) if any, else of the first
 * failure. A name that does not resolve fails with `ERR_DNS`. Sockets have `noDelay` on and
 * `allowHalfOpen` set. This is what {@link tcpTransport} uses when given no connector.
 */
export function directConnector(options: DirectConnectorOptions = {}): Connector {
  const lookup = options.lookup ?? defaultLookup;
  return (target, { signal }) => connectDirect(target, signal, lookup, 'handover');
}

/**
 * The connection for a socket: addresses read from the socket (`fallbackRemote` when it has no
 * remote address; without one, `undefined`), except those already `known`. The transport's own
 * placeholder `'error'` listener goes once the connection's is on (a socket always has one).
 *
 * Node caches an address object (and its string) on the socket for each side read, about 90 B
 * of heap per side for the life of the connection; an address known otherwise is not read.
 */
function wrap(
  socket: Duplex,
  fallbackRemote: string | undefined,
  usesOnread: boolean,
  stableChunks = false,
  known: { readonly remote?: KnownEndpoint; readonly local?: KnownEndpoint } = {},
) {
  const s = socket as Duplex & { remoteAddress?: unknown };
  const options =
    known.remote !== undefined ||
    typeof s.remoteAddress === 'string' ||
    fallbackRemote === undefined
      ? {}
      : { remoteAddress: fallbackRemote };
  const connection = wrapSocket(socket, options, usesOnread, true, stableChunks, known);
  if (connection !== undefined) socket.off('error', noop);
  return connection;
}

class TcpListener implements Listener {
  readonly address: string;
  readonly #server: net.Server;
  #closed = false;

  constructor(server: net.Server, address: string) {
    this.#server = server;
    this.address = address;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Stops accepting now; accepted connections live on (server.close's callback would wait
      // for them all, so it is not awaited).
      this.#server.close();
    }
    return Promise.resolve();
  }

  /** The listener no longer keeps the process alive (`net.Server.unref`). */
  unref(): void {
    this.#server.unref();
  }

  /** Undoes {@link unref}. */
  ref(): void {
    this.#server.ref();
  }
}

/** Turns keep-alive on for `socket` when it is a TCP socket and a delay is set. */
function applyKeepAlive(socket: Duplex, delay: number): void {
  if (delay > 0) (socket as Partial<net.Socket>).setKeepAlive?.(true, delay);
}

async function listen(
  address: string,
  handler: ListenHandler,
  keepAlive: number,
): Promise<Listener> {
  const { host, port } = parseAddress(address);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  let listening = false;
  // The local address of every accepted socket when the listener is bound to one address (not a
  // wildcard): its own, so it is not read from each socket.
  let local: { local?: KnownEndpoint } = {};
  let failed: (error: Error) => void = noop;
  server.on('error', (error: Error) => {
    if (!listening) return failed(error);
    // An accept failed (EMFILE, ENFILE, ...): libuv keeps listening and accepts again later.
    handler.onError?.(
      new PeerlinkError(
        codeOf(error) ?? TcpErrorCodes.SOCKET,
        `accept on ${address}: ${error.message}`,
        {
          cause: error,
        },
      ),
    );
  });
  server.on('connection', (socket: net.Socket) => {
    socket.on('error', noop);
    applyKeepAlive(socket, keepAlive);
    // An accepted `net.Socket` reads through `'data'`: fresh memory for every chunk.
    const connection = wrap(socket, undefined, false, true, local);
    // No remote address: reset before we got to it, the peer is gone, nothing to report.
    if (connection === undefined) return void socket.destroy();
    try {
      handler.onConnection(connection);
    } catch (error) {
      // A throwing handler must not become an uncaught exception inside Node's accept path.
      connection.close();
      handler.onError?.(
        new PeerlinkError(TcpErrorCodes.SOCKET, `onConnection threw on ${address}`, {
          cause: error,
        }),
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    failed = (error) => {
      server.close();
      const code = codeOf(error) ?? TcpErrorCodes.SOCKET;
      reject(new PeerlinkError(code, `listen ${address}: ${error.message}`, { cause: error }));
    };
    server.listen({ host, port }, () => {
      listening = true;
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  const listenerAddress = formatAddress(bound.address, bound.port);
  if (bound.address !== '0.0.0.0' && bound.address !== '::') {
    local = { local: { host: bound.address, port: bound.port } };
  }
  return new TcpListener(server, listenerAddress);
}

/**
 * The Node TCP transport: listens on `host:port` addresses (IPv4 or IPv6, port 0 for any free
 * port) and connects by IP or DNS name, directly or through a {@link Connector} (such as
 * {@link socks5Connector}). Sockets have `noDelay` on and half-open allowed. Every socket error
 * reaches the connection's `onClose` (with Node's code, e.g. `ECONNRESET`) or the connect's
 * rejection; none is ever left unhandled.
 */
export function tcpTransport(options: TcpTransportOptions = {}): Transport {
  const lookup = options.lookup ?? defaultLookup;
  const custom = options.connector;
  // Where `onread` does not work (Bun, Deno), reads go through 'data' events whatever was asked.
  const mode: DirectMode =
    (options.readMode ?? 'onread') === 'onread' && ONREAD_SUPPORTED ? 'onread' : 'data';
  const onread = custom === undefined && mode === 'onread';
  const keepAlive = options.keepAlive === undefined ? false : options.keepAlive;
  if (keepAlive !== false && !(Number.isFinite(keepAlive) && keepAlive >= 0)) {
    throw invalidArgument('keepAlive', 'a delay in ms (≥ 0) or false', keepAlive);
  }
  const keepAliveDelay = keepAlive === false ? 0 : keepAlive;

  async function connect(target: string, connectOptions?: ConnectOptions): Promise<Connection> {
    const hostPort = parseAddress(target);
    const signal = connectOptions?.signal ?? new AbortController().signal;
    signal.throwIfAborted();
    let socket: Duplex;
    try {
      if (custom === undefined) {
        // The built-in connector honours the signal at every step itself.
        socket = await connectDirect(hostPort, signal, lookup, mode);
      } else {
        const attempt = Promise.resolve().then(() => custom(hostPort, { signal }));
        socket = await abortable(attempt, signal, destroyLate);
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw connectError(target, error);
    }
    if (socket === null || typeof socket !== 'object' || typeof socket.pipe !== 'function') {
      throw new PeerlinkError(TcpErrorCodes.CONNECTOR, `connect ${target}: not a duplex`);
    }
    if (signal.aborted) {
      socket.destroy();
      throw signal.reason;
    }
    if (socket.destroyed) {
      const error = socket.errored ?? new PeerlinkError(TcpErrorCodes.CONNECTOR, 'closed');
      throw connectError(target, error);
    }
    socket.pause();
    applyKeepAlive(socket, keepAliveDelay);
    // A socket we connected ourselves and read through `'data'`: fresh memory for every chunk.
    // Connected directly to an IPv4 address written canonically: that is its remote address.
    const known = custom === undefined && net.isIPv4(hostPort.host) ? { remote: hostPort } : {};
    return wrap(socket, target, onread, custom === undefined && !onread, known) as Connection;
  }

  return {
    listen: (address, handler) => listen(address, handler, keepAliveDelay),
    connect,
  };
}
