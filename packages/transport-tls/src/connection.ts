import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Connection } from '@peerlink/stream';
import { socketConnection } from '@peerlink/transport-tcp';
import { TlsErrorCodes } from './errors.js';

const noop = (): void => {};

/**
 * Adapts an established TLS socket to the {@link Connection} contract: a thin layer over the
 * socket adapter of `@peerlink/transport-tcp`, which holds events until `start`, splits reads,
 * slices large writes and reports `onClose` exactly once. What TLS adds: `raw`, the TCP socket
 * under it, is kept to send a real reset (a TLS socket cannot), and errors without a code get
 * `ERR_TLS_SOCKET`. The TLS socket must be paused (not flowing); it stays paused until `start`.
 */
export function tlsConnection(
  socket: TLSSocket,
  raw: Socket,
  remoteAddress: string,
  localAddress: string,
): Connection {
  // The raw socket's own errors are surfaced by the TLS socket; this only keeps a late one from
  // becoming an unhandled 'error' event.
  raw.on('error', noop);
  return socketConnection(socket, {
    remoteAddress,
    localAddress,
    errorCode: TlsErrorCodes.SOCKET,
    reset: () => {
      // Reset the TCP socket under it. The TLS socket then closes by itself; destroying it as
      // well, at once, crashes Node 20 (use after free).
      try {
        if (!raw.destroyed) return void raw.resetAndDestroy();
      } catch {}
      socket.destroy();
    },
  });
}
