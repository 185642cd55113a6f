/** The messages of the browser test, shared by the page and the Node side. */

/** Size of the big message, in bytes (4 MiB). */
export const BIG = 4 * 1024 * 1024;

/** Small message `i`: 8 bytes, the index then its complement. */
export function small(i: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, i);
  view.setUint32(4, ~i >>> 0);
  return bytes;
}

/** The index of a small message, or -1 when it is damaged. */
export function smallIndex(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const i = view.getUint32(0);
  return view.getUint32(4) === ~i >>> 0 ? i : -1;
}

/** `size` pseudo-random bytes from `seed` (xorshift32): any lost, moved or changed byte shows. */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Whether `bytes` is exactly `pattern(size, seed)`. */
export function samePattern(bytes: Uint8Array, size: number, seed: number): boolean {
  if (bytes.length !== size) return false;
  const expected = pattern(size, seed);
  for (let i = 0; i < size; i++) if (bytes[i] !== expected[i]) return false;
  return true;
}

/** Whether `bytes` is the big message (by size). */
export function isBig(bytes: Uint8Array): boolean {
  return bytes.length === BIG;
}
