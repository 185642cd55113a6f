/**
 * A peerlink transport over Unix-domain sockets, written as a third party would: public imports
 * only. Addresses are socket paths (opaque strings to the reactor, which never parses them).
 * Listening on a path that ends in `*` binds a fresh path there, the `*` replaced by a unique
 * name: what port 0 is to TCP. An accepted connection's `remoteAddress` is `<path>#<n>` (the n-th
 * connection accepted there: a Unix client has no address of its own); a dialer's `localAddress`
 * is `''`.
 *
 * The work of turning a Node socket into a `Connection` is done by `socketConnection`, the socket
 * adapter the TCP and TLS transports share. Unix sockets cannot send a reset: `reset()` closes.
 */
import net from 'node:net';
import {
  type Connection,
  type ConnectOptions,
  type Listener,
  type ListenHandler,
  socketConnection,
  type Transport,
} from 'peerlink';

let fresh = 0;

/** A transport over Unix-domain sockets (`node:net` with a `path`). */
export function unixTransport(): Transport {
  return { listen, connect };
}

function listen(address: string, handler: ListenHandler): Promise<Listener> {
  const path = address.endsWith('*')
    ? `${address.slice(0, -1)}peerlink-${process.pid}-${++fresh}.sock`
    : address;
  let accepted = 0;
  return new Promise((resolve, reject) => {
    // allowHalfOpen: after the remote's end we can still write (the contract's half-close);
    // pauseOnConnect: nothing is read before `start`.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const connection = socketConnection(socket, {
        remoteAddress: `${path}#${++accepted}`,
        localAddress: path,
      });
      try {
        handler.onConnection(connection);
      } catch (error) {
        connection.close();
        handler.onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    });
    server.once('error', reject); // e.g. EADDRINUSE: nothing stays open
    server.listen(path, () => {
      server.off('error', reject);
      server.on('error', (error) => handler.onError?.(error));
      resolve({
        address: path,
        // Stops accepting (and removes the socket file); accepted connections live on, so the
        // close callback, which would wait for them, is not awaited.
        close: () => {
          if (server.listening) server.close();
          return Promise.resolve();
        },
      });
    });
  });
}

function connect(target: string, options: ConnectOptions = {}): Promise<Connection> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const socket = net.connect({ path: target, allowHalfOpen: true });
    socket.pause();
    const onAbort = () => {
      socket.destroy(); // release what we opened
      reject(signal?.reason);
    };
    const onError = (error: Error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error); // carries its `code`: ENOENT (no such socket), ECONNREFUSED, ...
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      // Attaches the lasting 'error' listener before ours goes.
      const connection = socketConnection(socket, { remoteAddress: target, localAddress: '' });
      socket.off('error', onError);
      resolve(connection);
    });
  });
}
