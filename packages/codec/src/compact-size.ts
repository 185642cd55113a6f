import { ErrorCodes, PeerlinkError } from './errors.js';
import type { ByteWriter } from './sink.js';

/**
 * Bitcoin's CompactSize unsigned integer (the "varint" of the Bitcoin P2P protocol, not to be
 * confused with LEB128): one byte below 0xfd; otherwise a marker byte followed by the value
 * little-endian: 0xfd + 2 bytes, 0xfe + 4 bytes, 0xff + 8 bytes. Only the shortest form is
 * canonical; Bitcoin Core refuses the others, and so do these readers.
 */

/** The largest value {@link writeCompactSize} and {@link readCompactSize} handle (2^53 - 1). */
export const MAX_COMPACT_SIZE = Number.MAX_SAFE_INTEGER;
/** {@link readCompactSize} result: the CompactSize is cut off; more bytes are needed. */
export const COMPACT_SIZE_INCOMPLETE = -1;
/**
 * {@link readCompactSize} result: a non-canonical encoding (a value written in a longer form than
 * it needs) or a value above {@link MAX_COMPACT_SIZE}.
 */
export const COMPACT_SIZE_MALFORMED = -2;

/** The number of bytes a CompactSize of `value` occupies: 1, 3, 5 or 9. */
export function compactSizeSize(value: number): number {
  if (value < 0xfd) return 1;
  if (value <= 0xffff) return 3;
  if (value <= 0xffffffff) return 5;
  return 9;
}

/**
 * Reads a CompactSize at `offset`, using no byte at or past `end` (default: the end of `bytes`).
 * Returns the value (0 to 2^53 - 1), or {@link COMPACT_SIZE_INCOMPLETE}, or
 * {@link COMPACT_SIZE_MALFORMED} for a non-canonical encoding or a value above 2^53 - 1. Its
 * length is `compactSizeSize(value)`.
 */
export function readCompactSize(bytes: Uint8Array, offset: number, end = bytes.length): number {
  if (offset >= end) return COMPACT_SIZE_INCOMPLETE;
  const first = bytes[offset]!;
  if (first < 0xfd) return first;
  if (first === 0xfd) {
    if (offset + 3 > end) return COMPACT_SIZE_INCOMPLETE;
    const v = bytes[offset + 1]! | (bytes[offset + 2]! << 8);
    return v < 0xfd ? COMPACT_SIZE_MALFORMED : v;
  }
  if (first === 0xfe) {
    if (offset + 5 > end) return COMPACT_SIZE_INCOMPLETE;
    const v = u32le(bytes, offset + 1);
    return v <= 0xffff ? COMPACT_SIZE_MALFORMED : v;
  }
  if (offset + 9 > end) return COMPACT_SIZE_INCOMPLETE;
  const lo = u32le(bytes, offset + 1);
  const hi = u32le(bytes, offset + 5);
  // Canonical 9-byte forms need hi > 0; values above 2^53 - 1 (hi >= 2^21) do not fit a number.
  if (hi === 0 || hi >= 0x200000) return COMPACT_SIZE_MALFORMED;
  return hi * 0x100000000 + lo;
}

/**
 * Appends `value` as a CompactSize in its canonical (shortest) form. `value` is an integer from 0
 * to {@link MAX_COMPACT_SIZE}; anything else throws `PeerlinkError` `ERR_INVALID_ARGUMENT` and
 * writes nothing. Returns the bytes written (1, 3, 5 or 9).
 */
export function writeCompactSize(sink: ByteWriter, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_COMPACT_SIZE) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_ARGUMENT,
      `expected an integer from 0 to ${MAX_COMPACT_SIZE}, got ${value}`,
    );
  }
  const n = compactSizeSize(value);
  const o = sink.reserve(n);
  const b = sink.buffer;
  if (n === 1) {
    b[o] = value;
    return 1;
  }
  b[o] = n === 3 ? 0xfd : n === 5 ? 0xfe : 0xff;
  let rest = value;
  for (let i = 1; i < n; i++) {
    b[o + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return n;
}

function u32le(bytes: Uint8Array, at: number): number {
  return bytes[at + 3]! * 0x1000000 + ((bytes[at + 2]! << 16) | (bytes[at + 1]! << 8) | bytes[at]!);
}
