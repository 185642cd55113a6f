import { ErrorCodes, PeerlinkError } from './errors.js';

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

/** The largest integer a varint written by {@link ByteSink.writeVarint} may hold (2^53 - 1). */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Options for {@link ByteSink}. */
export interface ByteSinkOptions {
  /** Capacity of the first buffer, in bytes. Default 256. No memory is taken until the first write. */
  initialCapacity?: number;
  /**
   * Growth doubles the buffer up to this capacity, in bytes; a fresh buffer (after everything was
   * taken) starts again at most this large. Past it, a sink that holds more grows to twice what it
   * holds (or what a write needs). Default 65536 (64 KiB).
   */
  slabSize?: number;
}

/**
 * A growable byte buffer that codecs append encoded messages to.
 *
 * Bytes live in `buffer` between {@link ByteSink.head} and {@link ByteSink.length}. {@link take}
 * hands the held bytes out as a view and moves `head` past them: the sink never writes over taken
 * bytes again (a later write goes after them, or into a new buffer), so a taken view stays valid
 * for as long as its holder wants it. This is what lets the send path hand encoded bytes to a
 * socket without copying them.
 *
 * Multi-byte helpers come in big-endian (`BE`) and little-endian (`LE`) forms. Integers are
 * range-checked; a value that does not fit throws a {@link PeerlinkError} with code
 * `ERR_INVALID_ARGUMENT`.
 */
export class ByteSink {
  /** The current backing memory. Replaced when the sink grows: do not keep a reference. */
  buffer: Uint8Array = EMPTY;
  /** The `DataView` behind {@link view}; made on first use, so an idle sink has none. */
  private viewCache: DataView | undefined;
  /** Offset of the first held byte in {@link buffer}. */
  head = 0;
  /** Offset one past the last written byte in {@link buffer}. */
  length = 0;
  private readonly initialCapacity: number;
  private readonly slabSize: number;

  constructor(options: ByteSinkOptions = {}) {
    this.initialCapacity = options.initialCapacity ?? 256;
    this.slabSize = options.slabSize ?? 65536;
  }

  /** Number of bytes held (written and not yet taken). */
  get size(): number {
    return this.length - this.head;
  }

  /** Size of the backing memory, in bytes (0 before the first write). */
  get capacity(): number {
    return this.buffer.length;
  }

  /**
   * Makes room for `n` more bytes and returns the offset in {@link buffer} where they go; the
   * caller must then fill exactly `buffer[offset .. offset + n)`. {@link length} advances by `n`.
   * A later write may grow the sink and move the held bytes: keep `offset - head` across writes,
   * not `offset`.
   */
  reserve(n: number): number {
    if (this.buffer.length - this.length < n) this.grow(n);
    const offset = this.length;
    this.length = offset + n;
    return offset;
  }

  /** Appends one byte (0–255). Returns 1. */
  writeU8(value: number): number {
    checkUint(value, 0xff);
    const o = this.reserve(1);
    this.buffer[o] = value;
    return 1;
  }

  /** Appends a 16-bit unsigned integer, big-endian. Returns 2. */
  writeU16BE(value: number): number {
    checkUint(value, 0xffff);
    const o = this.reserve(2);
    this.view.setUint16(o, value, false);
    return 2;
  }

  /** Appends a 16-bit unsigned integer, little-endian. Returns 2. */
  writeU16LE(value: number): number {
    checkUint(value, 0xffff);
    const o = this.reserve(2);
    this.view.setUint16(o, value, true);
    return 2;
  }

  /** Appends a 32-bit unsigned integer, big-endian. Returns 4. */
  writeU32BE(value: number): number {
    checkUint(value, 0xffffffff);
    const o = this.reserve(4);
    this.view.setUint32(o, value, false);
    return 4;
  }

  /** Appends a 32-bit unsigned integer, little-endian. Returns 4. */
  writeU32LE(value: number): number {
    checkUint(value, 0xffffffff);
    const o = this.reserve(4);
    this.view.setUint32(o, value, true);
    return 4;
  }

  /** Appends a 64-bit unsigned integer (a `bigint` from 0 to 2^64 - 1), big-endian. Returns 8. */
  writeU64BE(value: bigint): number {
    checkU64(value);
    const o = this.reserve(8);
    this.view.setBigUint64(o, value, false);
    return 8;
  }

  /** Appends a 64-bit unsigned integer (a `bigint` from 0 to 2^64 - 1), little-endian. Returns 8. */
  writeU64LE(value: bigint): number {
    checkU64(value);
    const o = this.reserve(8);
    this.view.setBigUint64(o, value, true);
    return 8;
  }

  /**
   * Appends an unsigned LEB128 varint (7 bits a byte, low groups first), as used by protobuf and
   * multiformats. `value` is an integer from 0 to {@link MAX_VARINT}. Returns the bytes written (1–8).
   */
  writeVarint(value: number): number {
    checkUint(value, MAX_VARINT);
    const n = varintSize(value);
    const o = this.reserve(n);
    const b = this.buffer;
    for (let i = 0; i < n - 1; i++) {
      b[o + i] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    b[o + n - 1] = value;
    return n;
  }

  /** Appends a copy of `bytes`. Returns `bytes.length`. */
  writeBytes(bytes: Uint8Array): number {
    const o = this.reserve(bytes.length);
    this.buffer.set(bytes, o);
    return bytes.length;
  }

  /** Appends `text` encoded as UTF-8. Returns the bytes written. */
  writeUtf8(text: string): number {
    // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
    const max = text.length * 3;
    if (this.buffer.length - this.length < max) this.grow(max);
    const { written } = textEncoder.encodeInto(text, this.buffer.subarray(this.length));
    this.length += written;
    return written;
  }

  /**
   * Hands out the held bytes as a view and forgets them (`head` moves to `length`). The sink never
   * writes into the returned range again. Returns an empty view when nothing is held.
   */
  take(): Uint8Array {
    const out = this.buffer.subarray(this.head, this.length);
    this.head = this.length;
    return out;
  }

  /** Returns a view of the held bytes without taking them (valid until the next write). */
  peek(): Uint8Array {
    return this.buffer.subarray(this.head, this.length);
  }

  /** Drops the last `n` held bytes (used to undo a partial encode). */
  truncate(n: number): void {
    this.length = Math.max(this.head, this.length - n);
  }

  /**
   * Moves the held bytes into fresh memory of `capacity` bytes (or exactly the held size, if
   * larger); with nothing held and `capacity` 0, the memory is released entirely.
   */
  resize(capacity: number): void {
    const size = this.size;
    const cap = Math.max(capacity, size);
    const next = cap === 0 ? EMPTY : new Uint8Array(cap);
    if (size > 0) next.set(this.buffer.subarray(this.head, this.length));
    this.setBuffer(next);
    this.head = 0;
    this.length = size;
  }

  private grow(n: number): void {
    const size = this.size;
    const need = size + n;
    let cap = Math.min(Math.max(this.buffer.length * 2, this.initialCapacity), this.slabSize);
    // Past the slab size, grow with what is held (doubling it), so that many small writes into a
    // large held batch cost amortised linear time, not one full copy each.
    if (need > cap) cap = Math.max(need, size * 2);
    this.resize(cap);
  }

  /** A `DataView` over {@link buffer}, replaced with it: read it after `reserve`, not before. */
  get view(): DataView {
    const b = this.buffer;
    this.viewCache ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
    return this.viewCache;
  }

  private setBuffer(buffer: Uint8Array): void {
    this.buffer = buffer;
    this.viewCache = undefined;
  }
}

/** The number of bytes {@link ByteSink.writeVarint} uses for `value` (1–8). */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

function checkUint(value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_ARGUMENT,
      `expected an integer from 0 to ${max}, got ${value}`,
    );
  }
}

function checkU64(value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_ARGUMENT,
      `expected a bigint from 0 to 2^64 - 1, got ${String(value)}`,
    );
  }
}
