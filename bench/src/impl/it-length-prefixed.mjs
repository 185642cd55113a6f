// it-length-prefixed over a node:net socket, the way libp2p frames its streams: every message is
// framed with `encode.single` (a varint length prefix and the body, as a Uint8ArrayList whose
// parts are written to the socket), and the receive side runs `decode` over the socket as an
// async iterable of chunks, yielding one Uint8ArrayList per message (`.subarray()` gives its
// bytes, copying only when the message spans chunks).

import net from 'node:net';
import { decode, encode } from 'it-length-prefixed';
import { makeMessage, u32 } from '../common.mjs';

export const name = 'it-length-prefixed';

class LpConn {
  /**
   * @param {net.Socket} socket
   * @param {number} maxSize
   */
  constructor(socket, maxSize) {
    socket.setNoDelay(true);
    this.socket = socket;
    this.maxSize = maxSize;
    /** @type {(len: number, seq: number, tail: number) => void} */
    this.onMessage = () => {};
    socket.on('error', () => {});
    this.reading = this.read();
  }

  async read() {
    try {
      for await (const list of decode(this.socket, { maxDataLength: this.maxSize })) {
        const b = list.subarray();
        this.onMessage(b.length, u32(b, 0), u32(b, b.length - 4));
      }
    } catch (err) {
      if (!this.socket.destroyed) throw err;
    }
  }

  send(seq, len) {
    const frame = encode.single(makeMessage(seq, len), { maxDataLength: this.maxSize });
    for (const part of frame) this.socket.write(part);
    return !this.socket.writableNeedDrain;
  }

  /** @param {() => void} cb */
  onDrain(cb) {
    if (!this.socket.writableNeedDrain) queueMicrotask(cb);
    else this.socket.once('drain', cb);
  }

  close() {
    this.socket.destroy();
  }
}

/** @type {import('../common.mjs').Impl['listen']} */
export function listen(onConnection, { maxSize }) {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, (socket) => {
      onConnection(new LpConn(socket, maxSize));
    });
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
      const addr = /** @type {net.AddressInfo} */ (server.address());
      resolve({ port: addr.port, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/** @type {import('../common.mjs').Impl['connect']} */
export function connect(port, { maxSize }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new LpConn(socket, maxSize));
    });
  });
}
