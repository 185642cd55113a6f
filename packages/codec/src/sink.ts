import { ErrorCodes, invalidArgument, PeerlinkError } from './errors.js';

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

/** The largest integer a varint written by {@link ByteWriter.writeVarint} may hold (2^53 - 1). */
const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/**
 * What a codec's `encode(message, sink)` writes into: an append-only byte writer. Codecs append
 * with the `write…` methods, or fill bytes in place after {@link reserve}.
 *
 * Multi-byte helpers come in big-endian (`BE`) and little-endian (`LE`) forms. Integers are
 * range-checked; a value that does not fit throws a {@link PeerlinkError} with code
 * `ERR_INVALID_ARGUMENT` and writes nothing.
 *
 * Positions: a write may grow the writer and move the bytes of the message being written. To come
 * back to a byte later in the same encode (to patch a length, say), keep its index among the held
 * bytes (`size` before writing it) and use {@link patchU32}.
 */
export interface ByteWriter {
  /** Bytes written and held, in bytes. Differences of `size` count what an encode wrote. */
  readonly size: number;
  /**
   * The memory that {@link reserve} returned an offset into. Replaced when the writer grows: read
   * it after `reserve`, and do not keep it.
   */
  readonly buffer: Uint8Array;
  /**
   * Makes room for `n` more bytes and returns the offset in {@link buffer} where they go; fill
   * exactly `buffer[offset .. offset + n)` before the next write. A later write may move them: to
   * find them again, keep their index among the held bytes (`size - n` right after this call).
   */
  reserve(n: number): number;
  /**
   * A `DataView` over {@link buffer}, for writing other types in place (floats, say) after
   * {@link reserve}. Replaced with the buffer: read it after `reserve`, and do not keep it.
   */
  readonly view: DataView;
  /** Appends one byte (0–255). Returns 1. */
  writeU8(value: number): number;
  /** Appends a 16-bit unsigned integer, big-endian. Returns 2. */
  writeU16BE(value: number): number;
  /** Appends a 16-bit unsigned integer, little-endian. Returns 2. */
  writeU16LE(value: number): number;
  /** Appends a 32-bit unsigned integer, big-endian. Returns 4. */
  writeU32BE(value: number): number;
  /** Appends a 32-bit unsigned integer, little-endian. Returns 4. */
  writeU32LE(value: number): number;
  /** Appends a 64-bit unsigned integer (a `bigint` from 0 to 2^64 - 1), big-endian. Returns 8. */
  writeU64BE(value: bigint): number;
  /** Appends a 64-bit unsigned integer (a `bigint` from 0 to 2^64 - 1), little-endian. Returns 8. */
  writeU64LE(value: bigint): number;
  /**
   * Appends an unsigned LEB128 varint (7 bits a byte, low groups first), as used by protobuf and
   * multiformats. `value` is an integer from 0 to 2^53 - 1. Returns the bytes written (1–8,
   * `varintSize(value)`).
   */
  writeVarint(value: number): number;
  /** Appends a copy of `bytes`. Returns `bytes.length`. */
  writeBytes(bytes: Uint8Array): number;
  /**
   * Appends `bytes`, by reference when the writer can (the stream's send queue does for 16 KiB or
   * more): the caller must then never modify those bytes again (as with Node's `socket.write`).
   * Returns `bytes.length`.
   */
  writeShared(bytes: Uint8Array): number;
  /** Appends `text` encoded as UTF-8. Returns the bytes written. */
  writeUtf8(text: string): number;
  /**
   * Overwrites the 4 held bytes from `index` (counted among the held bytes, as `size` was before
   * they were written) with `value`, a 32-bit unsigned integer, big-endian unless `littleEndian`.
   * Only bytes written by the writer's own methods may be patched (never `writeShared` bytes).
   * Throws `ERR_INVALID_ARGUMENT` when the value does not fit or the range is not held.
   */
  patchU32(index: number, value: number, littleEndian?: boolean): void;
}

/** Options for {@link ByteSink}. */
export interface ByteSinkOptions {
  /** Capacity of the first buffer, in bytes. Default 256. No memory is taken until the first write. */
  initialCapacity?: number;
}

/**
 * A growable, contiguous {@link ByteWriter}: encode messages into it outside a stream (tests,
 * tools, a codec's scratch space), then read what was written with {@link peek}.
 *
 * Capacity doubles from `initialCapacity` as writes need it (appending stays amortised linear).
 * `writeShared` copies here. The stream's send queue extends this class with segments (its
 * internals are `protected`, never public).
 */
export class ByteSink implements ByteWriter {
  /** The backing memory. */
  protected buf: Uint8Array = EMPTY;
  /** Offset of the first held byte in {@link buf}. */
  protected start = 0;
  /** Offset one past the last written byte in {@link buf}. */
  protected end = 0;
  /** The first buffer's capacity, in bytes. */
  protected readonly initialCapacity: number;
  /** The `DataView` behind {@link view}; made on first use, so an idle sink has none. */
  private viewCache: DataView | undefined;

  constructor(options: ByteSinkOptions = {}) {
    const initialCapacity = options.initialCapacity ?? 256;
    if (!Number.isSafeInteger(initialCapacity) || initialCapacity < 0) {
      throw new PeerlinkError(
        ErrorCodes.INVALID_ARGUMENT,
        `initialCapacity: expected a non-negative integer number of bytes, got ${String(initialCapacity)}`,
      );
    }
    this.initialCapacity = initialCapacity;
  }

  /** The current backing memory (see {@link ByteWriter.buffer}): read it after `reserve`. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Number of bytes held. */
  get size(): number {
    return this.end - this.start;
  }

  /** Size of the backing memory, in bytes (0 before the first write). */
  get capacity(): number {
    return this.buf.length;
  }

  reserve(n: number): number {
    if (this.buf.length - this.end < n) this.grow(n);
    const offset = this.end;
    this.end = offset + n;
    return offset;
  }

  writeU8(value: number): number {
    checkUint(value, 0xff);
    const o = this.reserve(1);
    this.buf[o] = value;
    return 1;
  }

  writeU16BE(value: number): number {
    checkUint(value, 0xffff);
    const o = this.reserve(2);
    this.view.setUint16(o, value, false);
    return 2;
  }

  writeU16LE(value: number): number {
    checkUint(value, 0xffff);
    const o = this.reserve(2);
    this.view.setUint16(o, value, true);
    return 2;
  }

  writeU32BE(value: number): number {
    checkUint(value, 0xffffffff);
    const o = this.reserve(4);
    this.view.setUint32(o, value, false);
    return 4;
  }

  writeU32LE(value: number): number {
    checkUint(value, 0xffffffff);
    const o = this.reserve(4);
    this.view.setUint32(o, value, true);
    return 4;
  }

  writeU64BE(value: bigint): number {
    checkU64(value);
    const o = this.reserve(8);
    this.view.setBigUint64(o, value, false);
    return 8;
  }

  writeU64LE(value: bigint): number {
    checkU64(value);
    const o = this.reserve(8);
    this.view.setBigUint64(o, value, true);
    return 8;
  }

  writeVarint(value: number): number {
    checkUint(value, MAX_VARINT);
    const n = varintSize(value);
    const o = this.reserve(n);
    const b = this.buf;
    for (let i = 0; i < n - 1; i++) {
      b[o + i] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    b[o + n - 1] = value;
    return n;
  }

  writeBytes(bytes: Uint8Array): number {
    if (!(bytes instanceof Uint8Array)) throw notBytes('bytes', bytes);
    const o = this.reserve(bytes.length);
    this.buf.set(bytes, o);
    return bytes.length;
  }

  /** Appends a copy of `bytes` (a plain sink never shares). Returns `bytes.length`. */
  writeShared(bytes: Uint8Array): number {
    return this.writeBytes(bytes);
  }

  writeUtf8(text: string): number {
    if (typeof text !== 'string') throw notString(text);
    // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
    const max = text.length * 3;
    if (this.buf.length - this.end < max) this.grow(max);
    const { written } = textEncoder.encodeInto(text, this.buf.subarray(this.end));
    this.end += written;
    return written;
  }

  patchU32(index: number, value: number, littleEndian = false): void {
    checkUint(value, 0xffffffff);
    if (!Number.isInteger(index) || index < 0 || index + 4 > this.size) {
      throw new PeerlinkError(
        ErrorCodes.INVALID_ARGUMENT,
        `index: bytes ${index}..${index + 4} are not held (${this.size} held)`,
      );
    }
    for (let i = 0; i < 4; i++) {
      const shift = littleEndian ? 8 * i : 24 - 8 * i;
      this.setHeldByte(index + i, (value >>> shift) & 0xff);
    }
  }

  /**
   * A view of the held bytes of the current buffer (for a plain sink: everything written since the
   * last {@link clear}). Valid until the next write.
   */
  peek(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** Forgets every held byte and writes over the current buffer from the start. */
  clear(): void {
    this.start = this.end = 0;
  }

  /** Makes room for `n` more bytes: moves the held bytes into a larger buffer. */
  protected grow(n: number): void {
    const size = this.end - this.start;
    let cap = Math.max(this.buf.length * 2, this.initialCapacity, 1);
    while (cap < size + n) cap *= 2;
    this.moveTo(cap);
  }

  /** Moves the held bytes of the current buffer to the front of fresh memory of `capacity` bytes. */
  protected moveTo(capacity: number): void {
    const size = this.end - this.start;
    const next = capacity === 0 ? EMPTY : new Uint8Array(capacity);
    if (size > 0) next.set(this.buf.subarray(this.start, this.end));
    this.setBuffer(next);
    this.start = 0;
    this.end = size;
  }

  /** Sets the held byte at `index` (among the held bytes, oldest first). */
  protected setHeldByte(index: number, value: number): void {
    this.buf[this.start + index] = value;
  }

  /** A `DataView` over {@link buffer}, replaced with it: read it after `reserve`, not before. */
  get view(): DataView {
    const b = this.buf;
    this.viewCache ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
    return this.viewCache;
  }

  /** Replaces the backing memory (and forgets the `DataView` over the old one). */
  protected setBuffer(buffer: Uint8Array): void {
    this.buf = buffer;
    this.viewCache = undefined;
  }
}

/** The number of bytes {@link ByteWriter.writeVarint} uses for `value` (1–8). */
export function varintSize(value: number): number {
  if (typeof value !== 'number') throw invalidArgument('value', 'a number', value);
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
      `value: expected an integer from 0 to ${max}, got ${describeNumber(value)}`,
    );
  }
}

function checkU64(value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_ARGUMENT,
      `value: expected a bigint from 0 to 2^64 - 1, got ${describeNumber(value)}`,
    );
  }
}

function describeNumber(value: unknown): string {
  return typeof value === 'number' || typeof value === 'bigint' ? String(value) : typeof value;
}

function notBytes(name: string, got: unknown): PeerlinkError {
  return new PeerlinkError(
    ErrorCodes.INVALID_ARGUMENT,
    `${name}: expected a Uint8Array, got ${got === null ? 'null' : typeof got}`,
  );
}

function notString(got: unknown): PeerlinkError {
  return new PeerlinkError(
    ErrorCodes.INVALID_ARGUMENT,
    `text: expected a string, got ${got === null ? 'null' : typeof got}`,
  );
}
