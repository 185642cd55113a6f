import net from 'node:net';
import tls from 'node:tls';
import {
  type Connection,
  type ConnectOptions,
  codeOf,
  ErrorCodes,
  formatAddress,
  type Listener,
  type ListenHandler,
  PeerlinkError,
  parseAddress,
  type Transport,
} from '@peerlink/stream';
import { tlsConnection } from './connection.js';
import { acceptError, acceptFailure, handshakeError, TlsErrorCodes } from './errors.js';

/** PEM text, or its bytes; or several of them (a chain, or several CAs). */
export type TlsMaterial = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** Options of {@link tlsTransport}. One set serves both listening and connecting. */
export interface TlsTransportOptions {
  /** Private key (PEM). Required to listen; for a client, only with `cert` (mutual TLS). */
  key?: TlsMaterial;
  /** Certificate chain (PEM) matching `key`. Required to listen. */
  cert?: TlsMaterial;
  /**
   * Trusted CA certificates (PEM) that the peer's certificate must chain to. Default: Node's
   * bundled Mozilla CAs (which no self-signed test certificate chains to).
   */
  ca?: TlsMaterial;
  /**
   * Listening side: ask each client for a certificate (mutual TLS). With `rejectUnauthorized`,
   * a client without a valid one is refused during the handshake. Default `false`.
   */
  requestCert?: boolean;
  /**
   * Refuse a peer whose certificate does not verify against `ca` (and, when connecting, does not
   * name the host dialed). Default `true`. `false` accepts anything: encryption without
   * authentication; only for tests.
   */
  rejectUnauthorized?: boolean;
  /**
   * Connecting side: the name sent as SNI and checked against the server's certificate.
   * Default: the target's host when it is a name; for an IP target no SNI is sent and the IP
   * itself is checked against the certificate's IP addresses.
   */
  servername?: string;
  /** Lowest protocol version accepted. Default Node's (`'TLSv1.2'`). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Highest protocol version offered. Default Node's (`'TLSv1.3'`). */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * Listening side: a client that has not finished its handshake after this many milliseconds is
   * dropped (and reported to `onError`). Default 10000 (Node's own default is 120000).
   */
  handshakeTimeout?: number;
  /**
   * Connecting side, TLS 1.3 only: resolve `connect` only once the server confirmed the
   * handshake by sending its first session ticket (Node and OpenSSL servers send one as soon as
   * they accept the client). In TLS 1.3 a client finishes its handshake before the server has
   * checked the client's certificate, so without this a refused certificate shows up as a
   * connection that closes right after connecting, not as a failed connect. Set `false` for a
   * server that sends no session tickets. Default `true`.
   */
  awaitServerConfirmation?: boolean;
}

type Pem = string | Buffer | Array<string | Buffer>;

/** Node wants `Buffer`s; a `Uint8Array` is wrapped without a copy. */
function pem(material: TlsMaterial | undefined): Pem | undefined {
  if (material === undefined) return undefined;
  const one = (m: string | Uint8Array): string | Buffer =>
    typeof m === 'string' ? m : Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  if (typeof material === 'string' || material instanceof Uint8Array) return one(material);
  return material.map(one);
}

const noop = (): void => {};

function peerKey(address: string | undefined, port: number | undefined): string {
  return `${address}|${port}`;
}

/**
 * A {@link Transport} over TLS (`node:tls`) on TCP. Listens with `tls.createServer`, connects with
 * `tls.connect` over a TCP socket of its own (kept to send resets), and hands out a connection
 * only once the handshake succeeded. Handshake failures reject `connect` with the codes of
 * {@link TlsErrorCodes}. Written only against the public transport contract: see the README's
 * "Writing a transport adapter".
 */
export function tlsTransport(options: TlsTransportOptions = {}): Transport {
  const {
    requestCert = false,
    rejectUnauthorized = true,
    handshakeTimeout = 10_000,
    awaitServerConfirmation = true,
  } = options;
  if (!(handshakeTimeout > 0)) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `handshakeTimeout: expected a positive number of milliseconds, got ${handshakeTimeout}`,
    );
  }
  const key = pem(options.key);
  const cert = pem(options.cert);
  const ca = pem(options.ca);
  const common: tls.SecureContextOptions & tls.CommonConnectionOptions = { rejectUnauthorized };
  if (key !== undefined) common.key = key;
  if (cert !== undefined) common.cert = cert;
  if (ca !== undefined) common.ca = ca;
  if (options.minVersion !== undefined) common.minVersion = options.minVersion;
  if (options.maxVersion !== undefined) common.maxVersion = options.maxVersion;

  function listen(address: string, handler: ListenHandler): Promise<Listener> {
    const { host, port } = parseAddress(address);
    if (common.key === undefined || common.cert === undefined) {
      return Promise.reject(
        new PeerlinkError(ErrorCodes.INVALID_CONFIG, 'key, cert: both are required to listen'),
      );
    }
    const server = tls.createServer({
      ...common,
      requestCert,
      handshakeTimeout,
      // Not half-open during the handshake: a client that leaves mid-handshake must close the
      // socket (Node reports it only on close). Half-open from `secureConnection` on.
      allowHalfOpen: false,
      noDelay: true,
    });
    // TCP sockets by peer address, from 'connection' (before the handshake) until they close or
    // their TLS socket is handed out: how a reset reaches the TCP socket under a TLS one.
    const raws = new Map<string, net.Socket>();
    server.on('connection', (raw: net.Socket) => {
      raw.on('error', noop);
      const key = peerKey(raw.remoteAddress, raw.remotePort);
      raws.set(key, raw);
      raw.once('close', () => {
        if (raws.get(key) === raw) raws.delete(key);
      });
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = peerKey(socket.remoteAddress, socket.remotePort);
      const raw = raws.get(key);
      raws.delete(key);
      if (raw === undefined || socket.destroyed) {
        socket.destroy();
        return;
      }
      socket.allowHalfOpen = true; // the contract's end(): the remote's end leaves us writable
      const remote = formatAddress(socket.remoteAddress ?? '', socket.remotePort ?? 0);
      const local = formatAddress(socket.localAddress ?? '', socket.localPort ?? 0);
      const connection = tlsConnection(socket, raw, remote, local);
      try {
        handler.onConnection(connection);
      } catch (error) {
        // A throwing handler must not become an uncaught exception inside Node's accept path.
        connection.close();
        handler.onError?.(
          new PeerlinkError(TlsErrorCodes.SOCKET, `onConnection threw on ${address}`, {
            cause: error,
          }),
        );
      }
    });
    server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      socket.destroy();
      const remote = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
      handler.onError?.(acceptError(error, remote, socket.authorizationError));
    });
    return new Promise((resolve, reject) => {
      let listening = false;
      server.on('error', (error: Error) => {
        // An accept failed (EMFILE, ENFILE, ...): the server keeps listening and accepts later.
        if (listening) return void handler.onError?.(acceptFailure(error, address));
        server.close();
        const code = codeOf(error) ?? 'ERR_TLS_LISTEN';
        reject(new PeerlinkError(code, `listen ${address}: ${error.message}`, { cause: error }));
      });
      server.listen({ host, port }, () => {
        listening = true;
        const bound = server.address() as net.AddressInfo;
        let closed = false;
        resolve({
          address: formatAddress(bound.address, bound.port),
          close() {
            if (!closed) {
              closed = true;
              // Stops accepting now; accepted connections live on (the close callback would
              // wait for all of them).
              server.close();
              for (const raw of raws.values()) raw.destroy(); // handshakes in progress
              raws.clear();
            }
            return Promise.resolve();
          },
          unref: () => void server.unref(),
          ref: () => void server.ref(),
        });
      });
    });
  }

  function connect(target: string, connectOptions?: ConnectOptions): Promise<Connection> {
    const signal = connectOptions?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let host: string;
    let port: number;
    try {
      ({ host, port } = parseAddress(target));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Connection>((resolve, reject) => {
      // allowHalfOpen on the TCP socket: the TLS socket over it inherits it.
      const raw = net.connect({ host, port, noDelay: true, allowHalfOpen: true });
      raw.on('error', noop); // kept until the socket closes; errors surface on the TLS socket
      let settled = false;
      const servername = options.servername ?? (net.isIP(host) === 0 ? host : undefined);
      const tlsOptions: tls.ConnectionOptions = {
        ...common,
        socket: raw,
        host, // not dialed (the socket is): the name the certificate is checked against
      };
      if (servername !== undefined) tlsOptions.servername = servername;
      const socket = tls.connect(tlsOptions);
      let phase: 'tcp' | 'tls' | 'confirm' = 'tcp';
      let ticket = false;

      const cleanup = (): void => {
        signal?.removeEventListener('abort', onAbort);
        raw.off('connect', onTcp);
        socket.off('secureConnect', onSecure);
        socket.off('session', onSession);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('end', onClose);
      };
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        cleanup();
        socket.on('error', noop);
        socket.destroy();
        raw.destroy();
        reject(error);
      };
      const succeed = (): void => {
        if (settled) return;
        settled = true;
        cleanup();
        const remote = formatAddress(socket.remoteAddress ?? host, socket.remotePort ?? port);
        const local = formatAddress(socket.localAddress ?? '', socket.localPort ?? 0);
        resolve(tlsConnection(socket, raw, remote, local));
      };
      const onAbort = (): void => fail(signal?.reason);
      const onTcp = (): void => {
        phase = 'tls';
      };
      // Node loses bytes written while it is still handling a session ticket (microtasks
      // included), so after a ticket the connection is handed out one macrotask later.
      const confirmed = (): void => void setImmediate(succeed);
      const onSecure = (): void => {
        if (!awaitServerConfirmation || socket.getProtocol() !== 'TLSv1.3') {
          succeed();
          return;
        }
        phase = 'confirm';
        if (ticket) confirmed();
      };
      const onSession = (): void => {
        ticket = true;
        if (phase === 'confirm') confirmed();
      };
      const onError = (error: Error): void => fail(handshakeError(error, phase, target));
      const onClose = (): void =>
        fail(handshakeError(undefined, phase, target, common.cert !== undefined));

      signal?.addEventListener('abort', onAbort, { once: true });
      raw.once('connect', onTcp);
      socket.once('secureConnect', onSecure);
      socket.on('session', onSession);
      socket.on('error', onError);
      socket.once('close', onClose);
      socket.once('end', onClose);
    });
  }

  return { listen, connect };
}
