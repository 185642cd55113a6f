// net-raw: plain node:net with a minimal hand-written u32 little-endian length-prefix framer.
// This is the Node floor, and it is meant to be genuinely fast, not a straw man. Like a user of
// any framing library, it hands out every received message as a `Uint8Array` and takes every
// message to send as one (from `PayloadSource`, as the peerlink user-path row does):
// - receive: whole frames are handed out as views into the incoming chunk (Node never reuses the
//   memory of a 'data' chunk, so a view stays valid for as long as its holder keeps it); a frame
//   split across chunks is assembled straight into a fresh array of its declared length (one
//   copy), which is then handed out;
// - send: small payloads are copied straight into a 64 KiB write slab behind their u32 header;
//   everything written in one turn of the event loop goes out as one socket write, flushed in a
//   microtask (so a reply leaves before the loop polls again); payloads larger than half a slab
//   are written by reference (no copy), the socket corked around them so that header and body go
//   out as one writev.

import net from 'node:net';
import { PayloadSource, putU32, u32 } from '../common.mjs';

export const name = 'net-raw';

const SLAB = 64 * 1024;
/** Below this much free room, a flushed slab is dropped rather than kept for the next turn. */
const MIN_ROOM = 1024;

class RawConn {
  /** @param {net.Socket} socket */
  constructor(socket) {
    socket.setNoDelay(true);
    this.socket = socket;
    /** @type {Buffer | null} */
    this.slab = null;
    this.start = 0;
    this.pos = 0;
    this.scheduled = false;
    this.corked = false;
    this.flushFn = () => this.flush();
    this.payloads = new PayloadSource();
    /** @type {(bytes: Uint8Array) => void} */
    this.onPayload = () => {};
    /** @type {(() => void) | null} */
    this.drainCb = null;
    /** The header of a frame split inside its first 4 bytes. */
    this.hdr = new Uint8Array(4);
    this.hdrHave = 0;
    /** @type {Uint8Array | null} the body of a split frame, assembled in place */
    this.part = null;
    this.partHave = 0;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => {
      const cb = this.drainCb;
      this.drainCb = null;
      cb?.();
    });
    socket.on('error', () => {});
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    const n = chunk.length;
    let off = 0;
    if (this.hdrHave > 0 || this.part !== null) {
      off = this.completeSplit(chunk);
      if (off < 0) return;
    }
    const buf = chunk.buffer;
    const base = chunk.byteOffset;
    while (n - off >= 4) {
      const len = u32(chunk, off);
      const end = off + 4 + len;
      if (end > n) break;
      this.onPayload(new Uint8Array(buf, base + off + 4, len));
      off = end;
    }
    if (off < n) {
      const have = n - off;
      if (have < 4) {
        this.hdr.set(chunk.subarray(off), 0);
        this.hdrHave = have;
      } else {
        this.startPart(u32(chunk, off));
        this.part.set(chunk.subarray(off + 4), 0);
        this.partHave = have - 4;
      }
    }
  }

  /** @param {number} len the declared body length of a split frame */
  startPart(len) {
    this.part = Buffer.allocUnsafe(len);
    this.partHave = 0;
  }

  /** Continues a split frame with `chunk`; returns where the rest begins, or -1 if all taken. */
  completeSplit(chunk) {
    let off = 0;
    if (this.part === null) {
      // Only part of the header is held.
      const take = Math.min(4 - this.hdrHave, chunk.length);
      this.hdr.set(chunk.subarray(0, take), this.hdrHave);
      this.hdrHave += take;
      off = take;
      if (this.hdrHave < 4) return -1;
      this.hdrHave = 0;
      this.startPart(u32(this.hdr, 0));
    }
    const part = /** @type {Uint8Array} */ (this.part);
    const take = Math.min(part.length - this.partHave, chunk.length - off);
    part.set(chunk.subarray(off, off + take), this.partHave);
    this.partHave += take;
    off += take;
    if (this.partHave < part.length) return -1;
    this.part = null;
    this.partHave = 0;
    this.onPayload(part);
    return off;
  }

  /**
   * @param {number} seq
   * @param {number} len
   */
  send(seq, len) {
    return this.sendBytes(this.payloads.payload(seq, len));
  }

  /** Frames and queues one payload; false when the sender should wait for the drain. */
  sendBytes(payload) {
    const len = payload.length;
    const total = 4 + len;
    if (total > SLAB / 2) {
      this.sendLarge(payload);
    } else {
      if (this.slab === null || SLAB - this.pos < total) this.newSlab();
      const b = /** @type {Buffer} */ (this.slab);
      const o = this.pos;
      putU32(b, o, len);
      b.set(payload, o + 4);
      this.pos = o + total;
      this.schedule();
    }
    return !this.socket.writableNeedDrain;
  }

  /** A payload too large for the slab: its header through the slab, the payload by reference. */
  sendLarge(payload) {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    if (this.slab === null || SLAB - this.pos < 4) this.newSlab();
    putU32(/** @type {Buffer} */ (this.slab), this.pos, payload.length);
    this.pos += 4;
    this.writeSlab();
    this.socket.write(payload);
    this.schedule();
  }

  schedule() {
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushFn);
    }
  }

  /** Hands the slab's unwritten bytes to the socket (the slab never rewrites them). */
  writeSlab() {
    if (this.pos > this.start) {
      this.socket.write(/** @type {Buffer} */ (this.slab).subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  newSlab() {
    this.writeSlab();
    this.slab = Buffer.allocUnsafeSlow(SLAB);
    this.start = 0;
    this.pos = 0;
  }

  flush() {
    this.scheduled = false;
    this.writeSlab();
    if (this.slab !== null && SLAB - this.pos < MIN_ROOM) {
      this.slab = null;
      this.start = this.pos = 0;
    }
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
  }

  /** @param {() => void} cb */
  onDrain(cb) {
    if (!this.socket.writableNeedDrain) queueMicrotask(cb);
    else this.drainCb = cb;
  }

  close() {
    this.flush();
    this.socket.destroy();
  }
}

/** @type {import('../common.mjs').Impl['listen']} */
export function listen(onConnection) {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, (socket) => {
      onConnection(new RawConn(socket));
    });
    server.maxConnections = 1 << 20;
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
      const addr = /** @type {net.AddressInfo} */ (server.address());
      resolve({
        port: addr.port,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

/** @type {import('../common.mjs').Impl['connect']} */
export function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new RawConn(socket));
    });
  });
}
