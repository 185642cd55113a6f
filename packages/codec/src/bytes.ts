/**
 * Readers for decoders. None of them checks bounds: check `bytes.length` first (a decoder must
 * answer "incomplete" when the bytes are not there yet).
 */

/** Reads a 16-bit unsigned big-endian integer at `offset`. */
export function readU16BE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Reads a 16-bit unsigned little-endian integer at `offset`. */
export function readU16LE(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

/** Reads a 32-bit unsigned big-endian integer at `offset`. */
export function readU32BE(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! * 0x1000000 +
    ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!)
  );
}

/** Reads a 32-bit unsigned little-endian integer at `offset`. */
export function readU32LE(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset + 3]! * 0x1000000 +
    ((bytes[offset + 2]! << 16) | (bytes[offset + 1]! << 8) | bytes[offset]!)
  );
}

/** Reads a 64-bit unsigned big-endian integer at `offset`, as a `bigint`. */
export function readU64BE(bytes: Uint8Array, offset: number): bigint {
  return (BigInt(readU32BE(bytes, offset)) << 32n) | BigInt(readU32BE(bytes, offset + 4));
}

/** Reads a 64-bit unsigned little-endian integer at `offset`, as a `bigint`. */
export function readU64LE(bytes: Uint8Array, offset: number): bigint {
  return (BigInt(readU32LE(bytes, offset + 4)) << 32n) | BigInt(readU32LE(bytes, offset));
}

/** {@link readVarint} result: the varint is cut off; more bytes are needed. */
export const VARINT_INCOMPLETE = -1;
/** {@link readVarint} result: not a canonical varint of at most 2^53 - 1. */
export const VARINT_MALFORMED = -2;

/**
 * Reads an unsigned LEB128 varint at `offset`, using no byte at or past `end` (default: the end
 * of `bytes`). Returns the value (0 to 2^53 - 1), or {@link VARINT_INCOMPLETE}, or
 * {@link VARINT_MALFORMED} for an over-long (non-minimal) encoding or a value above 2^53 - 1. Its
 * length is `varintSize(value)`.
 */
export function readVarint(bytes: Uint8Array, offset: number, end = bytes.length): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const at = offset + i;
    if (at >= end) return VARINT_INCOMPLETE;
    const b = bytes[at]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      // A zero final byte after the first means the encoding was not minimal.
      if (b === 0 && i > 0) return VARINT_MALFORMED;
      return value > Number.MAX_SAFE_INTEGER ? VARINT_MALFORMED : value;
    }
    scale *= 128;
  }
  return VARINT_MALFORMED;
}
