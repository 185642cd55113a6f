// net-raw: plain node:net with a minimal hand-written u32 little-endian length-prefix framer.
// This is the Node floor, and it is meant to be genuinely fast, not a straw man:
// - receive: whole frames are decoded as views into the incoming chunk; only a frame split across
//   chunks is copied, into one reassembly buffer per connection that is reused and grows
//   geometrically (allocated only when a split frame first happens);
// - send: small frames are encoded straight into a 64 KiB write slab; everything written in one
//   turn of the event loop goes out as one socket write, flushed in a microtask (so a reply
//   leaves before the loop polls again); bodies larger than half a slab are written as views
//   without copying, the socket corked around them so that header, body and tail go out as one
//   writev.

import net from 'node:net';
import { FILLER, putU32, tailOf, u32 } from '../common.mjs';

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
    /** @type {(len: number, seq: number, tail: number) => void} */
    this.onMessage = () => {};
    /** @type {(() => void) | null} */
    this.drainCb = null;
    /** @type {Buffer | null} reassembly buffer for a frame split across chunks */
    this.rx = null;
    this.rxHave = 0;
    this.rxNeed = 0;
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
    if (this.rxHave > 0) {
      off = this.completeSplit(chunk);
      if (off < 0) return;
    }
    while (n - off >= 4) {
      const len = u32(chunk, off);
      const end = off + 4 + len;
      if (end > n) break;
      this.onMessage(len, u32(chunk, off + 4), u32(chunk, end - 4));
      off = end;
    }
    if (off < n) {
      // Keep the split frame's bytes (header first, the body as it arrives).
      const have = n - off;
      const need = have >= 4 ? 4 + u32(chunk, off) : 4;
      this.reserve(Math.max(need, have));
      this.rx.set(have === n ? chunk : chunk.subarray(off), 0);
      this.rxHave = have;
      this.rxNeed = need;
    }
  }

  /** Continues a split frame with `chunk`; returns where the rest begins, or -1 if all taken. */
  completeSplit(chunk) {
    let off = 0;
    if (this.rxNeed === 4) {
      // Only part of the header is held.
      const take = Math.min(4 - this.rxHave, chunk.length);
      this.rx.set(chunk.subarray(0, take), this.rxHave);
      this.rxHave += take;
      off = take;
      if (this.rxHave < 4) return -1;
      this.rxNeed = 4 + u32(this.rx, 0);
      this.reserve(this.rxNeed);
    }
    const take = Math.min(this.rxNeed - this.rxHave, chunk.length - off);
    this.rx.set(chunk.subarray(off, off + take), this.rxHave);
    this.rxHave += take;
    off += take;
    if (this.rxHave < this.rxNeed) return -1;
    const len = this.rxNeed - 4;
    this.rxHave = 0;
    this.rxNeed = 0;
    this.onMessage(len, u32(this.rx, 4), u32(this.rx, len));
    return off;
  }

  /** Makes the reassembly buffer hold at least `n` bytes, keeping what it holds. */
  reserve(n) {
    if (this.rx !== null && this.rx.length >= n) return;
    let cap = this.rx === null ? 4096 : this.rx.length;
    while (cap < n) cap *= 2;
    const next = Buffer.allocUnsafeSlow(cap);
    if (this.rx !== null && this.rxHave > 0) next.set(this.rx.subarray(0, this.rxHave), 0);
    this.rx = next;
  }

  /**
   * @param {number} seq
   * @param {number} len
   */
  send(seq, len) {
    const total = 4 + len;
    if (total > SLAB / 2) {
      this.sendLarge(seq, len);
    } else {
      if (this.slab === null || SLAB - this.pos < total) this.newSlab();
      const b = /** @type {Buffer} */ (this.slab);
      const o = this.pos;
      putU32(b, o, len);
      putU32(b, o + 4, seq);
      if (len <= 64) for (let i = o + 8; i < o + total - 4; i++) b[i] = 0x5a;
      else FILLER.copy(b, o + 8, 0, len - 8);
      putU32(b, o + total - 4, tailOf(seq, len));
      this.pos = o + total;
      this.schedule();
    }
    return !this.socket.writableNeedDrain;
  }

  /** A frame too large for the slab: header and tail through the slab, the body as a view. */
  sendLarge(seq, len) {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    if (this.slab === null || SLAB - this.pos < 8) this.newSlab();
    const b = /** @type {Buffer} */ (this.slab);
    putU32(b, this.pos, len);
    putU32(b, this.pos + 4, seq);
    this.pos += 8;
    this.writeSlab();
    this.socket.write(FILLER.subarray(0, len - 8));
    if (SLAB - this.pos < 4) this.newSlab();
    putU32(/** @type {Buffer} */ (this.slab), this.pos, tailOf(seq, len));
    this.pos += 4;
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
