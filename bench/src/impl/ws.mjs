// ws: WebSocket binary messages over 127.0.0.1, compression off (perMessageDeflate: false).
// Each message is a fresh Buffer handed to `ws.send`; received messages arrive as Buffers.
// Backpressure: the underlying socket's `writableNeedDrain` and its 'drain' event.

import { WebSocket, WebSocketServer } from 'ws';
import { makeMessage, u32 } from '../common.mjs';

export const name = 'ws';

class WsConn {
  /**
   * @param {WebSocket} ws
   * @param {import('node:net').Socket} socket
   */
  constructor(ws, socket) {
    this.ws = ws;
    this.socket = socket;
    socket.setNoDelay(true);
    /** @type {(len: number, seq: number, tail: number) => void} */
    this.onMessage = () => {};
    ws.on('message', (data) => {
      const b = /** @type {Buffer} */ (data);
      this.onMessage(b.length, u32(b, 0), u32(b, b.length - 4));
    });
    ws.on('error', () => {});
  }

  send(seq, len) {
    this.ws.send(makeMessage(seq, len), { binary: true });
    return !this.socket.writableNeedDrain;
  }

  /** @param {() => void} cb */
  onDrain(cb) {
    if (!this.socket.writableNeedDrain) queueMicrotask(cb);
    else this.socket.once('drain', cb);
  }

  close() {
    this.ws.terminate();
  }
}

/** @type {import('../common.mjs').Impl['listen']} */
export function listen(onConnection, { maxSize }) {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      backlog: 4096,
      perMessageDeflate: false,
      maxPayload: maxSize,
      clientTracking: false,
    });
    wss.on('error', reject);
    wss.on('connection', (ws, req) => onConnection(new WsConn(ws, req.socket)));
    wss.on('listening', () => {
      const addr = /** @type {import('node:net').AddressInfo} */ (wss.address());
      resolve({ port: addr.port, close: () => new Promise((r) => wss.close(() => r())) });
    });
  });
}

/** @type {import('../common.mjs').Impl['connect']} */
export function connect(port, { maxSize }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, {
      perMessageDeflate: false,
      maxPayload: maxSize,
    });
    /** @type {import('node:net').Socket | undefined} */
    let socket;
    ws.once('upgrade', (res) => {
      socket = res.socket;
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      resolve(new WsConn(ws, /** @type {import('node:net').Socket} */ (socket)));
    });
  });
}
