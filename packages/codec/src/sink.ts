import { ErrorCodes, PeerlinkError } from './errors.js';

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

/**
 * The smallest `bytes` (in bytes) that {@link ByteSink.writeShared} appends by reference; smaller
 * ones are copied, which is cheaper than a segment of their own.
 */
export const SHARE_MIN = 16384;

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
 * The bytes being written live in `buffer` between {@link ByteSink.head} and
 * {@link ByteSink.length}. {@link take} hands held bytes out as views and forgets them: the sink
 * never writes over taken bytes again (a later write goes after them, or into a new buffer), so a
 * taken view stays valid for as long as its holder wants it. This is what lets the send path hand
 * encoded bytes to a socket without copying them.
 *
 * Segments: held bytes may span several pieces of memory, handed out in order by successive
 * {@link take} calls. A sink whose owner calls {@link mark} at every message boundary never copies
 * whole messages when it grows: the complete messages before the mark become a segment of their
 * own and only the message being written moves to the new buffer. {@link writeShared} appends a
 * large byte array by reference, as a segment, without copying it. A sink that is never marked and
 * never given shared bytes keeps everything in one contiguous buffer ({@link peek} sees it all).
 *
 * Positions: a write may grow the sink and move the bytes of the message being written. To come
 * back to a byte later in the same encode (to patch a length, say), keep its index among the held
 * bytes (`sink.size` before writing it) and use {@link patchU32}; indexes stay valid until the
 * next {@link take}.
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
  /** Offset in {@link buffer} of the last {@link mark} (never below `head`). */
  private boundary = 0;
  /** Held segments before `buffer[head..length)`, oldest first from `segHead`; none when idle. */
  private segs: Uint8Array[] | undefined;
  private segHead = 0;
  /** Bytes held in `segs`. */
  private sealedBytes = 0;
  /** Capacity of the buffer {@link retire} let go: the next buffer starts this large. */
  private retired = 0;
  private readonly initialCapacity: number;
  private readonly slabSize: number;

  constructor(options: ByteSinkOptions = {}) {
    this.initialCapacity = options.initialCapacity ?? 256;
    this.slabSize = options.slabSize ?? 65536;
  }

  /** Number of bytes held (written and not yet taken), in every segment. */
  get size(): number {
    return this.sealedBytes + this.length - this.head;
  }

  /** Number of views {@link take} would hand out for the held bytes (0 when none is held). */
  get segments(): number {
    const open = this.length > this.head ? 1 : 0;
    return this.segs === undefined ? open : this.segs.length - this.segHead + open;
  }

  /** Size of the backing memory, in bytes (0 before the first write). */
  get capacity(): number {
    return this.buffer.length;
  }

  /**
   * Makes room for `n` more bytes and returns the offset in {@link buffer} where they go; the
   * caller must then fill exactly `buffer[offset .. offset + n)`. {@link length} advances by `n`.
   * A later write may grow the sink and move these bytes: to find them again, keep their index
   * among the held bytes (`size - n` right after this call), not `offset`.
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

  /**
   * Appends `bytes` without copying them when they are large (at least {@link SHARE_MIN} bytes):
   * the view itself becomes a segment that {@link take} hands out, so the caller must never modify
   * those bytes again (as with Node's `socket.write`). Smaller arrays are copied, like
   * {@link writeBytes}. Returns `bytes.length`.
   */
  writeShared(bytes: Uint8Array): number {
    const n = bytes.length;
    if (n < SHARE_MIN) return this.writeBytes(bytes);
    this.seal(this.length);
    this.pushSegment(bytes);
    return n;
  }

  /**
   * Marks a message boundary at the current end: when the sink next grows, the bytes written
   * before the mark are kept where they are, as a segment of their own, and only the bytes written
   * after it are moved. Call it before encoding each message.
   */
  mark(): void {
    this.boundary = this.length;
  }

  /**
   * Overwrites the 4 held bytes from `index` (counted among the held bytes, as `size` was before
   * they were written) with `value`, a 32-bit unsigned integer, big-endian unless `littleEndian`.
   * For a length known only after the body is written; only bytes written through the sink's own
   * writers may be patched (never {@link writeShared} bytes). Throws `ERR_INVALID_ARGUMENT` when the
   * value does not fit or the range is not held.
   */
  patchU32(index: number, value: number, littleEndian = false): void {
    checkUint(value, 0xffffffff);
    if (!Number.isInteger(index) || index < 0 || index + 4 > this.size) {
      throw new PeerlinkError(
        ErrorCodes.INVALID_ARGUMENT,
        `patchU32: bytes ${index}..${index + 4} are not held (${this.size} held)`,
      );
    }
    for (let i = 0; i < 4; i++) {
      const shift = littleEndian ? 8 * i : 24 - 8 * i;
      this.setHeldByte(index + i, (value >>> shift) & 0xff);
    }
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
   * Hands out the oldest held segment as a view and forgets it. The sink never writes into the
   * returned range again. Returns an empty view when nothing is held. While {@link segments} is
   * above 1, more views follow: call it until {@link size} is 0 to take everything, in order.
   */
  take(): Uint8Array {
    const segs = this.segs;
    if (segs !== undefined) {
      const out = segs[this.segHead]!;
      segs[this.segHead] = EMPTY;
      this.segHead++;
      this.sealedBytes -= out.length;
      if (this.segHead === segs.length) {
        this.segs = undefined;
        this.segHead = 0;
      }
      return out;
    }
    const out = this.buffer.subarray(this.head, this.length);
    this.head = this.boundary = this.length;
    return out;
  }

  /**
   * Returns a view of the held bytes of the current buffer without taking them (valid until the
   * next write). That is every held byte unless the sink was marked or given shared bytes (see
   * {@link segments}).
   */
  peek(): Uint8Array {
    return this.buffer.subarray(this.head, this.length);
  }

  /** Drops the last `n` held bytes, whatever segments they are in (used to undo a partial encode). */
  truncate(n: number): void {
    let left = Math.min(n, this.size);
    const open = this.length - this.head;
    if (left <= open) {
      this.length -= left;
      if (this.boundary > this.length) this.boundary = this.length;
      return;
    }
    left -= open;
    this.length = this.head = this.boundary = 0;
    this.setBuffer(EMPTY);
    const segs = this.segs!;
    while (left > 0) {
      const last = segs[segs.length - 1]!;
      if (last.length > left) {
        segs[segs.length - 1] = last.subarray(0, last.length - left);
        this.sealedBytes -= left;
        break;
      }
      segs.pop();
      this.sealedBytes -= last.length;
      left -= last.length;
    }
    if (this.segHead === segs.length) {
      this.segs = undefined;
      this.segHead = 0;
    }
  }

  /**
   * Empties the sink: forgets every held byte and keeps the current buffer for reuse, writing
   * over it from the start. Only for a scratch sink whose views were copied, never kept: views
   * that {@link take} handed out of the current buffer get overwritten.
   */
  clear(): void {
    this.head = this.length = this.boundary = 0;
    this.segs = undefined;
    this.segHead = 0;
    this.sealedBytes = 0;
  }

  /**
   * Lets the current buffer go when it holds nothing (a no-op otherwise): the next write starts a
   * fresh buffer as large as this one was. For an owner that knows the room left is too small for
   * its next batch, which would otherwise straddle two buffers.
   */
  retire(): void {
    if (this.length !== this.head || this.buffer.length === 0) return;
    this.retired = this.buffer.length;
    this.setBuffer(EMPTY);
    this.head = this.length = this.boundary = 0;
  }

  /**
   * Moves the held bytes of the current buffer into fresh memory of `capacity` bytes (or exactly
   * what it holds, if larger); with nothing held there and `capacity` 0, the memory is released
   * entirely. Held segments before it are not touched.
   */
  resize(capacity: number): void {
    const size = this.length - this.head;
    const cap = Math.max(capacity, size);
    const next = cap === 0 ? EMPTY : new Uint8Array(cap);
    if (size > 0) next.set(this.buffer.subarray(this.head, this.length));
    this.boundary -= this.head;
    this.retired = 0;
    this.setBuffer(next);
    this.head = 0;
    this.length = size;
  }

  private grow(n: number): void {
    // Complete messages before the mark stay where they are, as a segment: only the message
    // being written moves.
    if (this.boundary > this.head) this.seal(this.boundary);
    const size = this.length - this.head;
    const need = size + n;
    const base = Math.max(this.buffer.length * 2, this.retired, this.initialCapacity);
    let cap = Math.min(base, this.slabSize);
    // Past the slab size, grow with what is held (doubling it), so that many small writes into a
    // large message cost amortised linear time, not one full copy each.
    if (need > cap) cap = Math.max(need, size * 2);
    this.resize(cap);
  }

  /** Makes `buffer[head, end)` a held segment of its own; later writes go after `end`. */
  private seal(end: number): void {
    if (end > this.head) this.pushSegment(this.buffer.subarray(this.head, end));
    this.head = end;
    if (this.boundary < end) this.boundary = end;
  }

  private pushSegment(bytes: Uint8Array): void {
    if (this.segs === undefined) this.segs = [];
    this.segs.push(bytes);
    this.sealedBytes += bytes.length;
  }

  /** Sets the held byte at `index` (among the held bytes, oldest first). */
  private setHeldByte(index: number, value: number): void {
    const segs = this.segs;
    if (segs !== undefined) {
      for (let i = this.segHead; i < segs.length; i++) {
        const seg = segs[i]!;
        if (index < seg.length) {
          seg[index] = value;
          return;
        }
        index -= seg.length;
      }
    }
    this.buffer[this.head + index] = value;
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
