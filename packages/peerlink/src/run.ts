import { Reactor, type ReactorOptions } from '@peerlink/reactor';
import { invalidArgument } from '@peerlink/stream';
import {
  type Connector,
  type Socks5ConnectorOptions,
  socks5Connector,
  type TcpTransportOptions,
  tcpTransport,
} from '@peerlink/transport-tcp';

/**
 * Options of {@link run}: every {@link ReactorOptions} field except `transport` (always TCP here),
 * plus the addresses to listen on and the TCP transport's own options. `S` is the type of the
 * per-peer state (`Reactor<M, S>`; default none).
 */
export interface RunOptions<M, S = undefined> extends Omit<ReactorOptions<M, S>, 'transport'> {
  /**
   * Addresses to listen on (`host:port`, `[v6]:port`; port 0 for any free port). Default: none,
   * an outbound-only node (as the Rust `Config::bind_addr` left empty). The bound addresses are
   * in `reactor.listenAddresses`.
   */
  listen?: string | readonly string[];
  /** Options of the TCP transport (`lookup`, `readMode`, `connector`). Default: `{}`. */
  tcp?: TcpTransportOptions;
}

/**
 * Starts a reactor on the TCP transport, the counterpart of the Rust crate's `run`: creates the
 * {@link Reactor}, listens on `options.listen` (if any) and resolves with the reactor, which is the
 * handle for commands and events. If an address cannot be bound, the reactor is shut down and the
 * promise rejects with `ERR_LISTEN_FAILED` (the transport's error, such as `EADDRINUSE`, as cause).
 *
 * @example
 * ```ts
 * const node = await run({ codec, listen: '127.0.0.1:0' });
 * console.log('listening on', node.listenAddresses);
 * ```
 */
export async function run<M, S = undefined>(options: RunOptions<M, S>): Promise<Reactor<M, S>> {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'an object', options);
  }
  const { listen, tcp, ...reactorOptions } = options;
  if (
    listen !== undefined &&
    typeof listen !== 'string' &&
    !(Array.isArray(listen) && listen.every((a) => typeof a === 'string'))
  ) {
    throw invalidArgument('options.listen', 'an address string or an array of them', listen);
  }
  if (tcp !== undefined && (typeof tcp !== 'object' || tcp === null)) {
    throw invalidArgument('options.tcp', 'an object or undefined', tcp);
  }
  const reactor = new Reactor<M, S>({ ...reactorOptions, transport: tcpTransport(tcp) });
  if (listen !== undefined && listen.length > 0) {
    try {
      await reactor.listen(listen);
    } catch (error) {
      await reactor.shutdown({ flushTimeout: 0 });
      throw error;
    }
  }
  return reactor;
}

/**
 * Same as {@link run}, with outbound connections made by `connector` (the Rust
 * `run_with_connector`): for example a proxy, a test double, or a socket with custom options.
 * Inbound connections are unaffected.
 */
export function runWithConnector<M, S = undefined>(
  options: RunOptions<M, S>,
  connector: Connector,
): Promise<Reactor<M, S>> {
  if (typeof connector !== 'function') {
    return Promise.reject(invalidArgument('connector', 'a function', connector));
  }
  if (typeof options !== 'object' || options === null) {
    return Promise.reject(invalidArgument('options', 'an object', options));
  }
  return run({ ...options, tcp: { ...options.tcp, connector } });
}

/**
 * Same as {@link run}, with every outbound connection made through a SOCKS5 proxy (the Rust
 * `run_with_socks5_proxy`), for example Tor at `127.0.0.1:9050`. Credentials are optional
 * (`username` with `password`). Target names are resolved by the proxy, never locally.
 * Invalid proxy options reject with `ERR_INVALID_ARGUMENT` before anything starts.
 *
 * @example
 * ```ts
 * const node = await runWithSocks5Proxy({ codec }, { proxy: '127.0.0.1:9050' });
 * await node.connect('exampleonionaddress.onion:8333');
 * ```
 */
export async function runWithSocks5Proxy<M, S = undefined>(
  options: RunOptions<M, S>,
  proxy: Socks5ConnectorOptions,
): Promise<Reactor<M, S>> {
  return runWithConnector(options, socks5Connector(proxy));
}
