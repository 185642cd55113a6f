import { lookup as dnsLookup } from 'node:dns/promises';
import type net from 'node:net';
import {
  ErrorCodes,
  formatAddress,
  type HostPort,
  PeerlinkError,
  parseAddress,
} from '@peerlink/stream';
import { SocksClient, type SocksClientOptions } from 'socks';
import { TcpErrorCodes } from './errors.js';
import { type Connector, connectDirect, type Lookup } from './transport.js';

/** Options of {@link socks5Connector}. */
export interface Socks5ConnectorOptions {
  /** The proxy, `host:port` (Tor's default is `127.0.0.1:9050`). Its name, if any, is resolved locally. */
  proxy: string;
  /** Username for RFC 1929 authentication (1–255 bytes); give it with `password`. Default: none. */
  username?: string;
  /** Password for RFC 1929 authentication (1–255 bytes); give it with `username`. Default: none. */
  password?: string;
  /** How the proxy's own host name is resolved (targets never are). Default: `dns.promises.lookup`. */
  lookup?: Lookup;
}

/** The error of a proxy that answered the CONNECT request with a failure. */
export class ProxyReplyError extends PeerlinkError {
  /**
   * The SOCKS5 reply code (RFC 1928): 1 general failure, 2 not allowed by the ruleset, 3 network
   * unreachable, 4 host unreachable, 5 connection refused, 6 TTL expired, 7 command not supported,
   * 8 address type not supported. (A reply code outside the RFC is `ERR_PROXY_PROTOCOL` instead;
   * the type keeps `undefined` for compatibility.)
   */
  readonly replyCode: number | undefined;

  constructor(message: string, replyCode: number | undefined) {
    super(TcpErrorCodes.PROXY_TARGET_UNREACHABLE, message);
    this.name = 'ProxyReplyError';
    this.replyCode = replyCode;
  }
}

/** RFC 1928 reply codes, by the names the socks package puts in its messages. */
const REPLY_CODES: Readonly<Record<string, number>> = {
  Failure: 1,
  NotAllowed: 2,
  NetworkUnreachable: 3,
  HostUnreachable: 4,
  ConnectionRefused: 5,
  TTLExpired: 6,
  CommandNotSupported: 7,
  AddressNotSupported: 8,
};

function invalid(message: string): never {
  throw new PeerlinkError(ErrorCodes.INVALID_ARGUMENT, `socks5Connector: ${message}`);
}

function checkCredential(name: string, value: string | undefined): void {
  if (value === undefined) return;
  const length = typeof value === 'string' ? Buffer.byteLength(value) : 0;
  if (length < 1 || length > 255) invalid(`${name} must be a string of 1–255 bytes`);
}

/** Turns the socks package's failure (a message string) into our codes. */
function handshakeError(proxy: string, error: unknown, socketError: Error | undefined): Error {
  const message = error instanceof Error ? error.message : String(error);
  const at = `SOCKS5 proxy ${proxy}`;
  const rejected = /^Socks5 proxy rejected connection - (\w+)/.exec(message);
  const replyCode = rejected === null ? undefined : REPLY_CODES[rejected[1] ?? ''];
  if (replyCode !== undefined) {
    return new ProxyReplyError(`${at} could not reach the target: ${rejected?.[1]}`, replyCode);
  }
  if (message.includes('Authentication failed') || message.includes('no accepted authentication')) {
    return new PeerlinkError(TcpErrorCodes.PROXY_AUTH, `${at} refused authentication`, {
      cause: error,
    });
  }
  if (message.includes('timed out')) {
    return new PeerlinkError(TcpErrorCodes.PROXY_TIMEOUT, `${at}: handshake timed out`, {
      cause: error,
    });
  }
  return new PeerlinkError(
    TcpErrorCodes.PROXY_PROTOCOL,
    `${at} does not speak SOCKS5: ${message}`,
    {
      cause: socketError ?? error,
    },
  );
}

/**
 * A {@link Connector} that reaches targets through a SOCKS5 proxy (RFC 1928, CONNECT), with
 * optional username/password authentication (RFC 1929). Domain-name targets are handed to the
 * proxy unresolved, so no DNS query leaks locally and Tor can reach `.onion` names. Built on the
 * `socks` package. Failures: `ERR_PROXY_UNREACHABLE`, `ERR_PROXY_AUTH`,
 * `ERR_PROXY_TARGET_UNREACHABLE` ({@link ProxyReplyError}), `ERR_PROXY_PROTOCOL`; an abort
 * rejects with the signal's reason. Invalid options throw `ERR_INVALID_ARGUMENT` here.
 *
 * @example
 * const transport = tcpTransport({ connector: socks5Connector({ proxy: '127.0.0.1:9050' }) });
 */
export function socks5Connector(options: Socks5ConnectorOptions): Connector {
  let proxy: HostPort;
  try {
    proxy = parseAddress(options.proxy);
  } catch {
    invalid(`proxy must be host:port, got ${JSON.stringify(options.proxy)}`);
  }
  if ((options.username === undefined) !== (options.password === undefined)) {
    invalid('username and password go together');
  }
  checkCredential('username', options.username);
  checkCredential('password', options.password);
  const lookup = options.lookup ?? ((host) => dnsLookup(host, { all: true, order: 'verbatim' }));
  const proxyName = formatAddress(proxy.host, proxy.port);
  const { username, password } = options;
  const auth =
    username === undefined || password === undefined ? {} : { userId: username, password };

  return async (target, { signal }) => {
    let socket: net.Socket;
    try {
      socket = await connectDirect(proxy, signal, lookup, 'handover');
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new PeerlinkError(
        TcpErrorCodes.PROXY_UNREACHABLE,
        `SOCKS5 proxy ${proxyName} unreachable: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
    let socketError: Error | undefined;
    const onError = (error: Error) => void (socketError ??= error);
    const onAbort = () => socket.destroy();
    const onEnd = () => socket.destroy();
    socket.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const request: SocksClientOptions = {
        command: 'connect',
        proxy: { host: proxy.host, port: proxy.port, type: 5, ...auth },
        destination: { host: target.host, port: target.port },
        existing_socket: socket,
      };
      // With allowHalfOpen, a proxy that hangs up mid-handshake only ends the socket; the socks
      // package waits for 'close', so close it.
      socket.on('end', onEnd);
      socket.resume(); // connectDirect hands sockets over paused; the handshake needs to read
      // On success the socks package pauses the socket, then on the next turn re-emits the bytes
      // that came with its reply and calls resume(): flowing with no reader would drop bytes (and
      // could emit 'end' before anyone listens). Catch the bytes, make that resume() a no-op
      // until then, and hand the socket over paused with those bytes unread.
      const early: Buffer[] = [];
      try {
        const { remoteHost } = await SocksClient.createConnection(request);
        // The socks package grants a reply whose address type it does not know (leaving
        // `remoteHost` unset): such a reply cannot be parsed, so where the stream starts is unknown.
        if (remoteHost === undefined) throw new Error('CONNECT reply with an unknown address type');
      } catch (error) {
        socket.destroy();
        if (signal.aborted) throw signal.reason;
        throw handshakeError(proxyName, error, socketError);
      }
      socket.off('end', onEnd);
      const collect = (chunk: Buffer) => void early.push(chunk);
      socket.resume = () => socket;
      socket.on('data', collect);
      try {
        await new Promise<void>((resolve) => setImmediate(resolve));
      } finally {
        Reflect.deleteProperty(socket, 'resume');
        socket.off('data', collect);
      }
      socket.pause();
      if (signal.aborted || socket.destroyed) {
        socket.destroy();
        if (signal.aborted) throw signal.reason;
      }
      if (early.length > 0 && !socket.destroyed) socket.unshift(Buffer.concat(early));
      return socket;
    } finally {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError).off('end', onEnd);
    }
  };
}
