/**
 * Deterministic test data and a growable byte collector, so that the suite can tell reordered,
 * lost, duplicated or corrupted bytes apart without keeping one array per delivered chunk.
 */

/**
 * `length` pseudo-random bytes from `seed` (xorshift32). Different seeds give different streams, so
 * bytes that cross from one connection to another are caught too.
 */
export function pattern(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Splits `bytes` into views of the given sizes, cycling through `sizes` until all is covered. */
export function split(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    parts.push(bytes.subarray(offset, Math.min(bytes.length, offset + size)));
    offset += size;
    i++;
  }
  return parts;
}

/** Appends copies of chunks into one buffer that doubles as needed. */
export class ByteCollector {
  #buffer = new Uint8Array(1024);
  #length = 0;

  /** Bytes collected so far. */
  get length(): number {
    return this.#length;
  }

  /** Copies `chunk` in (the transport may reuse its memory after the call). */
  append(chunk: Uint8Array): void {
    const needed = this.#length + chunk.length;
    if (needed > this.#buffer.length) {
      let capacity = this.#buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const next = new Uint8Array(capacity);
      next.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = next;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = needed;
  }

  /** A view of the bytes collected so far (valid until the next append). */
  view(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Throws unless `actual` equals `expected`, naming the first differing offset. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(
        `${what}: byte ${i} differs (got ${actual[i]}, expected ${expected[i]}; ` +
          `${actual.length} of ${expected.length} bytes received)`,
      );
    }
  }
  if (actual.length !== expected.length) {
    throw new Error(`${what}: received ${actual.length} bytes, expected ${expected.length}`);
  }
}
