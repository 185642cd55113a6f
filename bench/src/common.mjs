// Shared by every implementation and the worker: the message layout, the receiver's verifier and
// a few helpers.
//
// A message of `len` bytes (len ≥ 12) for sequence number `seq` is laid out as:
//   bytes [0, 4)         seq, u32 little-endian
//   bytes [4, len - 4)   filler (0x5a)
//   bytes [len - 4, len) tailOf(seq, len), u32 little-endian
// Each implementation frames the message its own way (u32 prefix, varint prefix, WebSocket
// frame). The receiver checks every message's length, that `seq` is the next one expected, and
// that the tail word matches; it sums the tail words into a checksum that the parent compares
// with the expected one. So no implementation can skip, reorder, cut or merge messages.

/** The largest message any workload sends, in bytes (1 MiB). */
export const MAX_MESSAGE = 1024 * 1024;

/** Filler bytes shared by every sender (never written after start-up). */
export const FILLER = Buffer.alloc(MAX_MESSAGE, 0x5a);

/**
 * The tail word of message `seq` of `len` bytes.
 * @param {number} seq
 * @param {number} len
 * @returns {number}
 */
export function tailOf(seq, len) {
  return (Math.imul(seq, 0x9e3779b1) ^ len) >>> 0;
}

/**
 * Reads a u32 little-endian at `o`.
 * @param {Uint8Array} b
 * @param {number} o
 */
export function u32(b, o) {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/**
 * Writes a u32 little-endian at `o`.
 * @param {Uint8Array} b
 * @param {number} o
 * @param {number} v
 */
export function putU32(b, o, v) {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = v >>> 24;
}

/**
 * Writes message `seq` of `len` bytes at `o` in `b` (head, filler copy, tail).
 * @param {Uint8Array} b
 * @param {number} o
 * @param {number} seq
 * @param {number} len
 */
export function writeMessage(b, o, seq, len) {
  putU32(b, o, seq);
  if (len <= 64) for (let i = o + 4; i < o + len - 4; i++) b[i] = 0x5a;
  else FILLER.copy(b, o + 4, 0, len - 8);
  putU32(b, o + len - 4, tailOf(seq, len));
}

/** A fresh Buffer holding message `seq` of `len` bytes. */
export function makeMessage(seq, len) {
  const b = Buffer.allocUnsafe(len);
  writeMessage(b, 0, seq, len);
  return b;
}

/**
 * Payloads of 16 KiB or more are handed to the framer as a fresh array per message (both the floor
 * and peerlink send them by reference, so the sender may not reuse them); smaller ones come from
 * one reused array per connection (both copy them into their send buffer at once).
 */
export const FRESH_PAYLOAD_MIN = 16 * 1024;

/**
 * Where a user-path sender gets the `Uint8Array` of each message: what an application that sends
 * byte arrays would do. Small payloads are rewritten in one scratch array (the framer copies them
 * before `payload` is called again); large ones are fresh, never written after they are handed
 * over (the framer may still hold them).
 */
export class PayloadSource {
  constructor() {
    /** @type {Uint8Array | null} */
    this.scratch = null;
  }

  /**
   * @param {number} seq
   * @param {number} len
   * @returns {Uint8Array}
   */
  payload(seq, len) {
    if (len >= FRESH_PAYLOAD_MIN) return makeMessage(seq, len);
    let b = this.scratch;
    if (b === null || b.length !== len) {
      b = this.scratch = new Uint8Array(len).fill(0x5a);
    }
    putU32(b, 0, seq);
    putU32(b, len - 4, tailOf(seq, len));
    return b;
  }
}

/** The checksum a receiver of `count` messages of `len` bytes must arrive at. */
export function expectedChecksum(count, len) {
  let sum = 0;
  for (let i = 0; i < count; i++) sum = (sum + tailOf(i, len)) >>> 0;
  return sum;
}

/** Checks each received message: length, order, tail word; keeps the checksum. */
export class Verifier {
  /** @param {number} len expected length of every message, in bytes */
  constructor(len) {
    this.len = len;
    this.next = 0;
    this.sum = 0;
  }

  /**
   * @param {number} len the message's length
   * @param {number} head its first u32 (the sequence number)
   * @param {number} tail its last u32
   */
  check(len, head, tail) {
    if (len !== this.len || head !== this.next || tail !== tailOf(head, len)) {
      throw new Error(
        `bad message #${this.next}: len ${len} (want ${this.len}), seq ${head}, tail ${tail} (want ${tailOf(head, len)})`,
      );
    }
    this.next++;
    this.sum = (this.sum + tail) >>> 0;
  }
}

/**
 * What every implementation module exports (see src/impl/*.mjs).
 *
 * @typedef {object} Conn
 * @property {(len: number, seq: number, tail: number) => void} onMessage set by the worker:
 *   called for every received message with its length and its head and tail words, by an
 *   implementation that parses messages itself (the tuned peerlink row)
 * @property {(bytes: Uint8Array) => void} onPayload set by the worker: called with each received
 *   message as a `Uint8Array` (its payload), by an implementation that hands one out per message
 *   as a user would get it; the worker reads its head and tail words
 * @property {(seq: number, len: number) => boolean} send frames message `seq` of `len` bytes and
 *   queues it; returns false when the sender should wait for {@link Conn.onDrain} (the message
 *   itself is always taken)
 * @property {(cb: () => void) => void} onDrain calls `cb` once, when sending may go on
 * @property {() => void} close
 *
 * @typedef {object} Server
 * @property {number} port
 * @property {() => Promise<void>} close
 *
 * @typedef {object} Impl
 * @property {string} name
 * @property {(onConnection: (conn: Conn) => void, opts: {maxSize: number}) => Promise<Server>} listen
 * @property {(port: number, opts: {maxSize: number}) => Promise<Conn>} connect
 */

/** Lets the process run the garbage collector a few times (needs --expose-gc). */
export async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setImmediate(r));
  }
}

/** CPU seconds (user + system) used so far by this process. */
export function cpuSeconds() {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

/** Peak resident set size of this process, in bytes. */
export function peakRss() {
  return process.resourceUsage().maxRSS * 1024;
}
